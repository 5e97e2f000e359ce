"""The journal on disk: one file of JSON lines per process, appended and fsync'ed.

Each line is `{"id": ..., "sealed": <Fernet token>}`: everything the webhook said (its
CallSid, the caller's number, digits...) is inside the token, encrypted with the app's
keyring (the keys of `Caller.number_encrypted`). Files and the folder are the owner's
alone (0600 and 0700).

Replaying claims a file by renaming it (`*.jsonl` -> `*.claimed-<pid>-<random>`), so
two replayers never read the same file. A writer appends under an exclusive `flock` and,
once it holds the lock, checks that its path still names the file it opened; a claimer
takes the same lock before it reads, so no line is appended to a file after it was read.
Lines that cannot be replayed go to `*.aside` files, never deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpline.privacy.crypto import DecryptionError, Keyring

PENDING = ".jsonl"
CLAIMED = ".claimed-"
ASIDE = ".aside"
RETRY_SECONDS = 5.0


@dataclasses.dataclass(frozen=True)
class Entry:
    """One journalled webhook request."""

    key: str  # the provider's idempotency token, else a random id: replayed once
    webhook: str  # the Flask endpoint, such as `voice.status`
    path: str  # its URL path, such as `/voice/status`
    args: dict[str, str]  # the query string (`c`, `e`, `t`...)
    form: dict[str, str]  # the signed form parameters that matter
    received_at: dt.datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "webhook": self.webhook,
                "path": self.path,
                "args": self.args,
                "form": self.form,
                "received_at": self.received_at.isoformat(),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Entry:
        """Raises ValueError (or KeyError, TypeError) for anything but a whole entry."""
        raw = json.loads(text)
        received = dt.datetime.fromisoformat(raw["received_at"])
        if received.tzinfo is None:
            raise ValueError("received_at without a time zone")
        strings = (raw["args"], raw["form"])
        if not all(
            isinstance(k, str) and isinstance(v, str) for d in strings for k, v in d.items()
        ):
            raise ValueError("args and form hold strings only")
        return cls(
            key=str(raw["key"]),
            webhook=str(raw["webhook"]),
            path=str(raw["path"]),
            args=dict(raw["args"]),
            form=dict(raw["form"]),
            received_at=received,
        )


@dataclasses.dataclass
class Claimed:
    """A claimed file's entries, and the lines that could not be read as entries."""

    path: Path
    entries: list[Entry]
    unreadable: list[str]


def new_key(token: str | None) -> str:
    """The entry's replay key: the provider's idempotency token when it sent a usable one
    (a redelivery during the outage is then replayed once), else a random one."""
    if token and token.isascii() and token.isprintable() and len(token) <= 64:
        return token
    return secrets.token_hex(16)


class Journal:
    """The journal folder. `pending` is this process's cheap answer to "is there
    anything to replay?": no file I/O once it is known to be False."""

    def __init__(self, folder: Path, keyring: Keyring) -> None:
        self.folder = folder
        self._keyring = keyring
        self._pending: bool | None = None  # None: not looked yet
        self._next_attempt = 0.0  # time.monotonic() of the next in-process replay

    @property
    def own_file(self) -> Path:
        # The pid is read again: a forked child (an RQ work horse) writes its own file.
        return self.folder / f"{socket.gethostname()}-{os.getpid()}{PENDING}"

    def append(self, entry: Entry) -> None:
        """Write one entry durably (fsync) before returning."""
        line = json.dumps({"id": entry.key, "sealed": self._keyring.encrypt(entry.to_json())})
        self._ensure_folder()
        while True:
            path = self.own_file
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _names(path, fd):  # claimed between open and lock: a new file
                    continue
                os.write(fd, (line + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)  # releases the lock
            break
        self._pending = True

    def pending(self) -> bool:
        """Is anything waiting to be replayed? Looks at the folder once, then remembers."""
        if self._pending is None:
            self._pending = self.has_files()
        return self._pending

    def due(self, every_seconds: float = RETRY_SECONDS) -> bool:
        """Should this process replay now? Only when something is pending, and at most
        every `every_seconds` (entries waiting for their call are not retried on every
        request)."""
        if not self.pending():
            return False
        now = time.monotonic()
        if now < self._next_attempt:
            return False
        self._next_attempt = now + every_seconds
        return True

    def has_files(self) -> bool:
        """Does the folder hold anything to replay, from any process? (Looks every time.)"""
        return any(self._files(PENDING)) or any(self._files(CLAIMED))

    def mark_replayed(self) -> None:
        """Nothing of this process's is pending (another process's files are the worker's)."""
        self._pending = None

    def claim_all(self, stale_claim_seconds: float = 600.0) -> Iterator[Claimed]:
        """Claim and read every pending file (and every claim older than the given age:
        its replayer died). The caller replays, then calls `release` or `set_aside`."""
        now = dt.datetime.now(dt.UTC).timestamp()
        candidates = list(self._files(PENDING))
        candidates += [p for p in self._files(CLAIMED) if now - _mtime(p) > stale_claim_seconds]
        for path in sorted(candidates):
            base = path.name.split(CLAIMED)[0].removesuffix(PENDING)
            target = path.with_name(f"{base}{CLAIMED}{os.getpid()}-{secrets.token_hex(4)}")
            try:
                path.rename(target)
            except FileNotFoundError:  # another replayer claimed it first
                continue
            os.utime(target)
            yield self._read(target)

    def release(self, claimed: Claimed) -> None:
        """Every entry of a claimed file is in the database: delete the file."""
        claimed.path.unlink(missing_ok=True)

    def keep(self, claimed: Claimed, entries: list[Entry]) -> None:
        """Put entries back to be replayed later (their call is not known yet)."""
        if entries:
            for entry in entries:
                self.append(entry)
        self.release(claimed)

    def set_aside(self, claimed: Claimed, lines: list[str]) -> Path | None:
        """Keep lines that cannot be replayed in an `.aside` file (never deleted here)."""
        if not lines:
            return None
        path = self.folder / f"{claimed.path.name.split(CLAIMED)[0]}{ASIDE}"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, "".join(line + "\n" for line in lines).encode("ascii", "replace"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return path

    def seal(self, entry: Entry) -> str:
        """The line `append` writes for an entry (for setting one aside again)."""
        return json.dumps({"id": entry.key, "sealed": self._keyring.encrypt(entry.to_json())})

    def counts(self) -> dict[str, int]:
        """Files pending, claimed (being replayed) and set aside, for operators."""
        return {
            "pending": sum(_lines(p) for p in self._files(PENDING)),
            "claimed": sum(_lines(p) for p in self._files(CLAIMED)),
            "aside": sum(_lines(p) for p in self._files(ASIDE)),
        }

    def _read(self, path: Path) -> Claimed:
        entries: list[Entry] = []
        unreadable: list[str] = []
        with _locked(path) as text:
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    sealed = json.loads(line)["sealed"]
                    entries.append(Entry.from_json(self._keyring.decrypt(str(sealed))))
                except (ValueError, KeyError, TypeError, DecryptionError):
                    unreadable.append(line)
        return Claimed(path, entries, unreadable)

    def _files(self, marker: str) -> Iterator[Path]:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return
        for name in names:
            if (marker == PENDING and name.endswith(PENDING)) or (
                marker != PENDING and marker in name
            ):
                yield self.folder / name

    def _ensure_folder(self) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _names(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as file:
            return sum(1 for line in file if line.strip())
    except FileNotFoundError:
        return 0


@contextmanager
def _locked(path: Path) -> Iterator[str]:
    """The file's text, read under its lock (a writer that opened it before the rename
    finishes its line first)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read()
        yield data.decode("ascii", "replace")
    finally:
        os.close(fd)
