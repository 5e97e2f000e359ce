"""The WSGI entry point for gunicorn: `gunicorn helpline.wsgi:app`.

The app is built from the environment; production settings are checked on import, so a
misconfigured deployment fails at start with the list of problems.
"""

from helpline import create_app

app = create_app()
