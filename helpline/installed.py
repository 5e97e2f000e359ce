"""A process-wide value that `create_app` installs once, such as the keyring or the rules."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Installed(Generic[T]):
    """Holds one value for the process; reading it before it is installed is a bug."""

    def __init__(self, configure: str) -> None:
        self._configure = configure  # the function that installs it, named in the error
        self._value: T | None = None

    def install(self, value: T) -> None:
        self._value = value

    def get(self) -> T:
        if self._value is None:
            raise RuntimeError(f"{self._configure} has not been called (create the app first)")
        return self._value
