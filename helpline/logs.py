"""Logging with a last line of defence: phone-number-like digit runs are redacted."""

from __future__ import annotations

import logging
import re

# Seven or more digits, possibly separated by spaces, dots, dashes or brackets.
_NUMBER = re.compile(r"\+?\(?\d(?:[\s.\-()]*\d){6,}")
REDACTED = "[redacted-number]"


def redact(text: str) -> str:
    return _NUMBER.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Render the message, redact it, and drop the arguments it was built from."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure(level: str = "INFO") -> None:
    """Install one redacting stderr handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_helpline", False):
            return
    root.setLevel(level)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    handler._helpline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
