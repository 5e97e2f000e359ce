"""Read the supervisor's search forms (GET query strings) into typed filters.

Pure: no database, no Flask. Whatever is typed, the result is either a filter or a list
of messages that name the field and never repeat what was typed (people paste phone
numbers into search boxes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from helpline.models.enums import CallbackStatus, CallOutcome, RiskLevel, values

MAX_SECONDS = 10**7  # about 115 days: more than any call lasts
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50
CALLBACK_ANY, CALLBACK_NONE = "any", "none"

K = TypeVar("K", str, int)


@dataclasses.dataclass(frozen=True)
class Sort:
    """One order of the call log: a column of `call`, newest or largest first or not."""

    label: str
    column: str  # started_at, wait_seconds or duration_seconds
    descending: bool


SORTS: dict[str, Sort] = {
    "newest": Sort("Newest first", "started_at", True),
    "oldest": Sort("Oldest first", "started_at", False),
    "longest_wait": Sort("Longest wait first", "wait_seconds", True),
    "shortest_wait": Sort("Shortest wait first", "wait_seconds", False),
    "longest": Sort("Longest call first", "duration_seconds", True),
    "shortest": Sort("Shortest call first", "duration_seconds", False),
}
DEFAULT_SORT = "newest"


@dataclasses.dataclass(frozen=True)
class Choices:
    """The values a select may take, with their labels; loaded from the database."""

    languages: Mapping[str, str]
    topics: Mapping[str, str]
    counsellors: Mapping[int, str]
    interpreters: Mapping[int, str]
    sites: Mapping[int, str]


@dataclasses.dataclass(frozen=True)
class Period:
    """[since, until) in UTC, from whole days in the line's time zone; either may be open."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class CallFilter:
    period: Period = dataclasses.field(default_factory=Period)
    language: str | None = None
    topic: str | None = None
    outcome: str | None = None
    counsellor_id: int | None = None
    interpreter_id: int | None = None
    site_id: int | None = None
    wait_min: int | None = None
    wait_max: int | None = None
    duration_min: int | None = None
    duration_max: int | None = None
    risk: str | None = None
    callback: str | None = None  # CALLBACK_ANY, CALLBACK_NONE or a CallbackStatus
    sort: str = DEFAULT_SORT
    # Not from the form: the calls the supervisor may see at all (access.visible_calls),
    # as SQL; None for every call. Never described: it is not a search.
    scope: Any = dataclasses.field(default=None, compare=False)

    def described(self) -> dict[str, Any]:
        """The filters in use, as plain JSON (for the audit log): no empty ones."""
        found: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "scope":
                continue
            if field.name == "period":
                if value.since is not None:
                    found["since"] = value.since.isoformat()
                if value.until is not None:
                    found["until"] = value.until.isoformat()
            elif value is not None:
                found[field.name] = value
        return found


CALL_FIELDS = (
    "from",
    "to",
    "language",
    "topic",
    "outcome",
    "counsellor",
    "interpreter",
    "site",
    "wait_min",
    "wait_max",
    "duration_min",
    "duration_max",
    "risk",
    "callback",
    "sort",
)


class Problems:
    """Messages for the page, one per field at most."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)


def _digits(raw: str) -> bool:
    return raw.isascii() and raw.isdecimal()


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = (args.get(name) or "").strip()
    return value or None


def _date(args: Mapping[str, str], name: str, label: str, problems: Problems) -> dt.date | None:
    raw = _text(args, name)
    if raw is None:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        problems.add(f"{label}: give a date as YYYY-MM-DD.")
        return None
    if not 2000 <= day.year <= 2100:
        problems.add(f"{label}: give a date between the years 2000 and 2100.")
        return None
    return day


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def parse_period(
    args: Mapping[str, str], zone: ZoneInfo, problems: Problems, required: bool = False
) -> Period:
    """`from` and `to` (both days included) in the line's time zone, as a UTC period."""
    first = _date(args, "from", "From", problems)
    last = _date(args, "to", "To", problems)
    if required and (first is None or last is None) and not problems.messages:
        problems.add("Give both a first and a last day.")
    if first is not None and last is not None and first > last:
        problems.add("The first day must not be after the last day.")
        return Period()
    return Period(
        since=None if first is None else _local_midnight(first, zone),
        until=None if last is None else _local_midnight(last + dt.timedelta(days=1), zone),
    )


def _chosen(
    args: Mapping[str, str],
    name: str,
    label: str,
    known: Mapping[K, str],
    problems: Problems,
    key: Callable[[str], K | None],
) -> K | None:
    """The key of `known` that the field names (read by `key`), or a problem."""
    raw = _text(args, name)
    if raw is None:
        return None
    found = key(raw)
    if found is None or found not in known:
        problems.add(f"{label}: choose one from the list.")
        return None
    return found


def _choice(
    args: Mapping[str, str], name: str, label: str, known: Mapping[str, str], problems: Problems
) -> str | None:
    return _chosen(args, name, label, known, problems, str)


def _staff(
    args: Mapping[str, str], name: str, label: str, known: Mapping[int, str], problems: Problems
) -> int | None:
    return _chosen(
        args, name, label, known, problems, lambda raw: int(raw) if _digits(raw) else None
    )


def whole_number(
    args: Mapping[str, str], name: str, label: str, problems: Problems, limit: int = MAX_SECONDS
) -> int | None:
    raw = _text(args, name)
    if raw is None:
        return None
    if not _digits(raw) or int(raw) > limit:
        problems.add(f"{label}: give a whole number from 0 to {limit}.")
        return None
    return int(raw)


def _range(
    args: Mapping[str, str], name: str, label: str, problems: Problems
) -> tuple[int | None, int | None]:
    low = whole_number(args, f"{name}_min", f"{label} from", problems)
    high = whole_number(args, f"{name}_max", f"{label} to", problems)
    if low is not None and high is not None and low > high:
        problems.add(f"{label}: the lower bound must not be above the upper bound.")
    return low, high


OUTCOMES = {value: value.replace("_", " ") for value in values(CallOutcome)}
RISKS = {value: value for value in values(RiskLevel)}
CALLBACKS = {
    CALLBACK_ANY: "any callback",
    CALLBACK_NONE: "no callback",
    **{value: value for value in values(CallbackStatus)},
}


def parse_call_filter(
    args: Mapping[str, str], choices: Choices, zone: ZoneInfo
) -> tuple[CallFilter, list[str]]:
    """The call log's filters, or the messages that say what to correct."""
    problems = Problems()
    period = parse_period(args, zone, problems)
    wait_min, wait_max = _range(args, "wait", "Wait", problems)
    duration_min, duration_max = _range(args, "duration", "Duration", problems)
    sort = _choice(args, "sort", "Order", {k: s.label for k, s in SORTS.items()}, problems)
    found = CallFilter(
        period=period,
        language=_choice(args, "language", "Language", choices.languages, problems),
        topic=_choice(args, "topic", "Topic", choices.topics, problems),
        outcome=_choice(args, "outcome", "Outcome", OUTCOMES, problems),
        counsellor_id=_staff(args, "counsellor", "Counsellor", choices.counsellors, problems),
        interpreter_id=_staff(args, "interpreter", "Interpreter", choices.interpreters, problems),
        site_id=_staff(args, "site", "Site", choices.sites, problems),
        wait_min=wait_min,
        wait_max=wait_max,
        duration_min=duration_min,
        duration_max=duration_max,
        risk=_choice(args, "risk", "Risk level", RISKS, problems),
        callback=_choice(args, "callback", "Callback", CALLBACKS, problems),
        sort=sort or DEFAULT_SORT,
    )
    return found, problems.messages


def form_values(args: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, str]:
    """The non-empty form fields, as typed, to fill the form again and to build links."""
    return {name: value for name in fields if (value := (args.get(name) or "").strip())}


def page_size(args: Mapping[str, str]) -> int | None:
    """Rows per page: the default, one of PAGE_SIZES, or None if something else was sent."""
    raw = _text(args, "size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not _digits(raw) or int(raw) not in PAGE_SIZES:
        return None
    return int(raw)


# Keyset cursors: "<key>_<id>", the sort key of a row and its id.
_CURSOR = re.compile(r"^(?P<key>[0-9T:.+\-]{1,40})_(?P<id>[0-9]{1,19})$")


def encode_cursor(key: dt.datetime | int, row_id: int) -> str:
    text = key.astimezone(dt.UTC).isoformat() if isinstance(key, dt.datetime) else str(key)
    return f"{text}_{row_id}"


def decode_cursor(raw: str, column: str) -> tuple[dt.datetime | int, int] | None:
    """A cursor for a key column: a time for `started_at`, an integer otherwise; None if bad."""
    match = _CURSOR.match(raw)
    if match is None:
        return None
    text, row_id = match["key"], int(match["id"])
    if column in ("started_at", "occurred_at"):
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        return when.astimezone(dt.UTC), row_id
    if not _digits(text.removeprefix("-")):
        return None
    return int(text), row_id
