"""Logging with a last line of defence: phone-number-like digit runs are redacted."""

from __future__ import annotations

import logging
import re

# Seven or more digits, possibly separated by spaces, dots, dashes or brackets.
_NUMBER = re.compile(r"\+?\(?\d(?:[\s.\-()]*\d){6,}")
# An ISO date, perhaps with a time, standing alone (no digit follows it): Twilio's API
# version 2010-04-01 in a REST URL, or a timestamp. Kept, so that logs stay readable; a
# number that merely starts like a date is followed by more digits and is still redacted.
_DATE = re.compile(
    r"(?<![\d+])(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?"
    r"(?![\s.\-()]*\d)"
)
REDACTED = "[redacted-number]"


def redact(text: str) -> str:
    """The text with every phone-number-like run of digits replaced, dates kept."""
    kept, start = [], 0
    for date in _DATE.finditer(text):
        kept += [_NUMBER.sub(REDACTED, text[start : date.start()]), date.group()]
        start = date.end()
    kept.append(_NUMBER.sub(REDACTED, text[start:]))
    return "".join(kept)


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
