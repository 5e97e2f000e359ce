# The helpline's production image: gunicorn by default; the same image runs the RQ
# worker (`python worker.py`) and migrations (`helpline db upgrade`). See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A writable home: recent gunicorn versions put a control socket in ~/.gunicorn.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/helpline helpline

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
# `constraints.tx[t]` copies constraints.txt when it exists and nothing otherwise.
COPY pyproject.toml constraints.tx[t] ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && if [ -f constraints.txt ]; then pip install -c constraints.txt -r /tmp/requirements.txt; \
       else pip install -r /tmp/requirements.txt; fi \
    && rm /tmp/requirements.txt

# The app finds its Alembic migrations next to the helpline/ package
# (helpline/migrate.py), so the checkout is kept as it is and installed in editable mode.
# No extras: `embedded` is for development only.
COPY . .
RUN if [ -f constraints.txt ]; then pip install -c constraints.txt -e .; else pip install -e .; fi \
    && mkdir -p /app/instance/journal \
    && chmod 700 /app/instance/journal \
    && chown -R helpline:helpline /app/instance

USER helpline

EXPOSE 8000

# /healthz/live answers 200 while the process serves HTTP, whatever Redis and PostgreSQL
# do: an unhealthy container gets restarted, which cures a stuck process but never an
# outage elsewhere, during which the IVR must keep answering. Load balancers use
# /healthz/ready (docs/deployment.md). A redirect elsewhere, such as to /login, does not
# count as healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/healthz/live', timeout=4); sys.exit(0 if r.status == 200 and r.geturl().endswith('/healthz/live') else 1)"]

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-", "helpline.wsgi:app"]
