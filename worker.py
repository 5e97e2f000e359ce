#!/usr/bin/env python3
"""Start an RQ worker for the helpline: `python worker.py [--burst]`.

Same as `helpline worker`: builds the app once from the environment (see the README's
configuration table) and works the dispatch, callbacks and maintenance queues with the
RQ scheduler. SIGTERM lets the current job finish, then exits.
"""

from __future__ import annotations

import sys

from helpline.config import ConfigError, Settings
from helpline.worker import run_worker

if __name__ == "__main__":
    try:
        sys.exit(run_worker(Settings.from_env(), burst="--burst" in sys.argv[1:]))
    except ConfigError as error:
        sys.exit(f"error: {error}")
