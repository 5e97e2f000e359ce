"""Load and check data/: contact categories, referral kinds and the SSC directory.

An administrator edits these YAML files, not code. Every problem is reported with its
file and line, all at once; the app refuses to start while any remains.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from helpline.ivr.yamlsource import LineMap, SourceError, load
from helpline.models.enums import ReferralKind

CATEGORIES_FILE = "categories.yaml"
REFERRALS_FILE = "referrals.yaml"
DIRECTORY_FILE = "ssc_directory.yaml"

SEGMENT = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
REQUIRED_LANGUAGES = ("tr", "en")
MAX_DEPTH = 3
MAX_LABEL = 200
# Referral.province and Referral.destination hold what the directory names.
MAX_PROVINCE = 64
MAX_CENTRE = 200
MAX_ACT_WITHIN_DAYS = 365
DEFAULT_ACT_WITHIN_DAYS = 7  # for a kind the file no longer lists
SITE_CODE = re.compile(r"^[A-Za-z0-9._-]{2,32}$")
DIRECTORY_KIND = ReferralKind.SOCIAL_SERVICE_CENTRE


class CatalogInvalid(RuntimeError):
    """data/ has problems; the message lists them with file and line."""


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Labels:
    """A name in several languages, with English as the fallback."""

    by_language: Mapping[str, str]

    def get(self, language: str | None) -> str:
        return self.by_language.get(language or "en") or self.by_language["en"]

    def language_of(self, language: str | None) -> str:
        """The language `get` answers in (for the lang attribute)."""
        return language if language and language in self.by_language else "en"


@dataclasses.dataclass(frozen=True)
class Category:
    code: str
    labels: Labels
    children: tuple[Category, ...] = ()

    @property
    def depth(self) -> int:
        return self.code.count(".")

    def walk(self) -> Iterator[Category]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclasses.dataclass(frozen=True)
class ReferralKindInfo:
    kind: ReferralKind
    labels: Labels
    # A referral not moved on to its next step within this many days is overdue.
    act_within_days: int = DEFAULT_ACT_WITHIN_DAYS

    @property
    def uses_directory(self) -> bool:
        """An SSC referral names a province and a centre from the directory."""
        return self.kind == DIRECTORY_KIND


@dataclasses.dataclass(frozen=True)
class Centre:
    province: str
    name: str
    district: str
    site_code: str | None = None  # the helpline's site for this centre, whose focal point acts


@dataclasses.dataclass(frozen=True)
class Catalog:
    categories: tuple[Category, ...]
    referral_kinds: Mapping[str, ReferralKindInfo]
    provinces: Mapping[str, tuple[Centre, ...]]

    @functools.cached_property
    def by_code(self) -> Mapping[str, Category]:
        """Every category, at any depth, by its code."""
        return {c.code: c for root in self.categories for c in root.walk()}

    def category_label(self, code: str, language: str | None) -> str:
        """The label of a code; a code no longer in the file shows as itself."""
        category = self.by_code.get(code)
        return category.labels.get(language) if category else code

    def referral_label(self, kind: str, language: str | None) -> str:
        info = self.referral_kinds.get(kind)
        return info.labels.get(language) if info else kind

    def centre(self, province: str, name: str) -> Centre | None:
        return next((c for c in self.provinces.get(province, ()) if c.name == name), None)

    def act_within_days(self, kind: str) -> int | None:
        """How long a referral of this kind may wait for its next step; None if unknown."""
        info = self.referral_kinds.get(kind)
        return info.act_within_days if info else None


class _Reader:
    """Collects problems for one file, named relative to data/'s parent."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.shown = f"{path.parent.name}/{path.name}"
        self.problems = problems

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.shown, line, message))

    def read(self, top: str) -> LineMap | None:
        """The mapping under the file's one top-level key, or None after reporting why."""
        if not self.path.is_file():
            self.add(0, "the file is missing")
            return None
        try:
            data = load(self.path)
        except SourceError as error:
            self.add(error.line, error.message)
            return None
        if not isinstance(data, LineMap):
            self.add(1, f"expected a mapping with `{top}:`")
            return None
        self.mapping_checks(data, {top}, "the file")
        body = data.get(top)
        if not isinstance(body, LineMap) or not body:
            self.add(data.line_of(top), f"`{top}:` must be a non-empty mapping")
            return None
        return body

    def mapping_checks(self, mapping: LineMap, allowed: set[str] | None, what: str) -> None:
        """Report keys written twice, and keys outside `allowed` (None: any key)."""
        for key, line in mapping.duplicate_keys.items():
            self.add(line, f"{key!r} is written twice in {what}; YAML would keep only the last")
        for key in mapping:
            if allowed is not None and key not in allowed:
                known = ", ".join(sorted(allowed))
                self.add(mapping.line_of(key), f"unknown key {key!r} in {what} (known: {known})")

    def labels(self, owner: LineMap, what: str) -> Labels | None:
        value = owner.get("label")
        if not isinstance(value, LineMap):
            self.add(owner.line_of("label"), f"{what} needs `label:` with tr and en")
            return None
        self.mapping_checks(value, None, f"the labels of {what}")
        found: dict[str, str] = {}
        for language, text in value.items():
            line = value.line_of(language)
            if not LANGUAGE.match(language):
                self.add(line, f"{language!r} is not a language code (such as tr, en, ar)")
            elif not isinstance(text, str) or not text.strip():
                self.add(line, f"the {language} label of {what} must be text")
            elif len(text.strip()) > MAX_LABEL:
                self.add(line, f"the {language} label of {what} is over {MAX_LABEL} characters")
            else:
                found[language] = text.strip()
        missing = [code for code in REQUIRED_LANGUAGES if code not in value]
        if missing:
            self.add(value.line, f"{what} has no label in {', '.join(missing)}")
            return None
        return Labels(found) if len(found) == len(value) else None


def _categories(reader: _Reader) -> tuple[Category, ...]:
    body = reader.read("categories")
    if body is None:
        return ()
    return _category_level(reader, body, "")


def _category_level(reader: _Reader, level: LineMap, parent: str) -> tuple[Category, ...]:
    reader.mapping_checks(level, None, f"the children of {parent!r}" if parent else "it")
    found = []
    for key, spec in level.items():
        line = level.line_of(key)
        code = f"{parent}.{key}" if parent else key
        if not SEGMENT.match(key):
            reader.add(line, f"{key!r}: a code segment is lower-case letters, digits and _")
            continue
        if code.count(".") >= MAX_DEPTH:
            reader.add(line, f"{code!r} is nested deeper than {MAX_DEPTH} levels")
            continue
        if not isinstance(spec, LineMap):
            reader.add(line, f"category {code!r} must be a mapping with `label:`")
            continue
        reader.mapping_checks(spec, {"label", "children"}, f"category {code!r}")
        labels = reader.labels(spec, f"category {code!r}")
        children: tuple[Category, ...] = ()
        if "children" in spec:
            kids = spec["children"]
            if not isinstance(kids, LineMap) or not kids:
                reader.add(spec.line_of("children"), f"`children:` of {code!r} must be a mapping")
            else:
                children = _category_level(reader, kids, code)
        if labels is not None:
            found.append(Category(code=code, labels=labels, children=children))
    return tuple(found)


def _referral_kinds(reader: _Reader) -> dict[str, ReferralKindInfo]:
    body = reader.read("kinds")
    if body is None:
        return {}
    known = {kind.value for kind in ReferralKind}
    found: dict[str, ReferralKindInfo] = {}
    for key, spec in body.items():
        line = body.line_of(key)
        if key not in known:
            reader.add(line, f"{key!r} is not a referral kind (known: {', '.join(sorted(known))})")
            continue
        if not isinstance(spec, LineMap):
            reader.add(line, f"referral kind {key!r} must be a mapping with `label:`")
            continue
        reader.mapping_checks(spec, {"label", "act_within_days"}, f"referral kind {key!r}")
        labels = reader.labels(spec, f"referral kind {key!r}")
        days = spec.get("act_within_days")
        if (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not 1 <= days <= MAX_ACT_WITHIN_DAYS
        ):
            reader.add(
                spec.line_of("act_within_days") if "act_within_days" in spec else spec.line,
                f"referral kind {key!r} needs `act_within_days:`, whole days from 1 to "
                f"{MAX_ACT_WITHIN_DAYS}",
            )
            continue
        if labels is not None:
            found[key] = ReferralKindInfo(ReferralKind(key), labels, days)
    missing = sorted(known - set(body))
    if missing:
        reader.add(body.line, f"no entry for referral kind(s): {', '.join(missing)}")
    return found


def _directory(reader: _Reader) -> dict[str, tuple[Centre, ...]]:
    body = reader.read("provinces")
    if body is None:
        return {}
    reader.mapping_checks(body, None, "`provinces:`")
    found: dict[str, tuple[Centre, ...]] = {}
    for province, centres in body.items():
        line = body.line_of(province)
        if not province.strip() or len(province) > MAX_PROVINCE:
            reader.add(line, f"a province name has 1 to {MAX_PROVINCE} characters")
            continue
        if not isinstance(centres, list) or not centres:
            reader.add(line, f"province {province!r} needs a list of centres")
            continue
        kept: list[Centre] = []
        for centre in centres:
            centre_line = centre.line if isinstance(centre, LineMap) else line
            if not isinstance(centre, LineMap):
                reader.add(centre_line, f"a centre in {province!r} must be a mapping")
                continue
            reader.mapping_checks(centre, {"name", "district", "site"}, f"a centre in {province!r}")
            name, district = centre.get("name"), centre.get("district")
            site = centre.get("site")
            if site is not None and (not isinstance(site, str) or not SITE_CODE.match(site)):
                reader.add(centre.line_of("site"), "`site:` is a site code (helpline site add)")
                continue
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_CENTRE:
                reader.add(centre.line_of("name"), f"a centre needs a name of 1 to {MAX_CENTRE}")
                continue
            if not isinstance(district, str) or not district.strip():
                reader.add(centre.line_of("district"), f"centre {name!r} needs a district")
                continue
            if any(c.name == name.strip() for c in kept):
                reader.add(centre.line_of("name"), f"centre {name!r} is listed twice")
                continue
            kept.append(Centre(province, name.strip(), district.strip(), site))
        found[province] = tuple(kept)
    return found


def read(root: Path) -> tuple[Catalog, list[Problem]]:
    """Read the three files under root; return what was understood and every problem."""
    problems: list[Problem] = []
    catalog = Catalog(
        categories=_categories(_Reader(root / CATEGORIES_FILE, problems)),
        referral_kinds=_referral_kinds(_Reader(root / REFERRALS_FILE, problems)),
        provinces=_directory(_Reader(root / DIRECTORY_FILE, problems)),
    )
    return catalog, sorted(problems)


def load_catalog(root: Path) -> Catalog:
    """The catalog under root, or CatalogInvalid listing every problem."""
    catalog, problems = read(root)
    if problems:
        shown = "\n  - ".join(str(p) for p in problems[:30])
        more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
        raise CatalogInvalid(f"{root} has {len(problems)} problem(s):\n  - {shown}{more}")
    return catalog
