"""Parse a TwiML document and read its attributes by Twilio's rules (TWILIO.md §2)."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element

VERBS = frozenset(
    {
        "Say",
        "Play",
        "Pause",
        "Gather",
        "Record",
        "Dial",
        "Enqueue",
        "Leave",
        "Redirect",
        "Hangup",
        "Reject",
    }
)
# Real verbs this interpreter does not simulate; they are skipped with a note.
UNSIMULATED = frozenset(
    {"Connect", "Start", "Stop", "Stream", "Siprec", "Pay", "Prompt", "Refer", "Sms", "Echo"}
)
PROMPT_VERBS = frozenset({"Say", "Play", "Pause"})  # what a Gather may contain
QUEUE_VERBS = frozenset({"Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather"})


class TwimlError(ValueError):
    """The document is not valid TwiML (what Twilio reports as errors 12100 and 12200)."""


def parse(body: str) -> list[Element]:
    """Return the verbs of a `<Response>` document, in order.

    The body comes from the app under test, not from strangers: expat has no external
    entities and limits entity expansion, so the standard library parser is enough.
    """
    if not body.strip():
        raise TwimlError("the document is empty")
    try:
        root = ET.fromstring(body)  # noqa: S314 (trusted app; see the docstring)
    except ET.ParseError as error:
        raise TwimlError(f"not XML ({error}); starts {body.strip()[:40]!r}") from error
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    for verb in root:
        if verb.tag not in VERBS | UNSIMULATED:
            raise TwimlError(f"<{verb.tag}> is not a TwiML verb")
    return list(root)


def text(element: Element) -> str:
    """The element's text with whitespace collapsed (nested SSML tags contribute their text)."""
    return " ".join("".join(element.itertext()).split())


def integer(element: Element, name: str, default: int, minimum: int = 0) -> int:
    """Read a whole-number attribute; refuse anything else."""
    raw = element.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> is not a whole number") from None
    if value < minimum:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> must be at least {minimum}")
    return value


def boolean(element: Element, name: str, default: bool) -> bool:
    """Read a `true`/`false` attribute."""
    raw = element.get(name)
    if raw is None:
        return default
    if raw.strip().lower() not in ("true", "false"):
        raise TwimlError(f"<{element.tag} {name}={raw!r}> must be true or false")
    return raw.strip().lower() == "true"


def method(element: Element, name: str = "method") -> str:
    """Read an HTTP method attribute; POST unless it says GET."""
    raw = element.get(name, "POST").strip().upper()
    if raw not in ("GET", "POST"):
        raise TwimlError(f"<{element.tag} {name}={raw!r}> must be GET or POST")
    return raw


def url(element: Element, name: str, document_url: str) -> str | None:
    """Read a URL attribute resolved against the document URL; None when it is absent."""
    raw = element.get(name)
    return None if raw is None else resolve(raw, document_url)


def resolve(raw: str, document_url: str) -> str:
    """Resolve a possibly relative URL against the current document's URL."""
    return urllib.parse.urljoin(document_url, raw.strip())
