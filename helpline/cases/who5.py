"""The WHO-5 Well-Being Index's wording, by language, from data/who5.yaml.

Every language of the line (`REQUIRED`) needs the instruction, five statements and the
six answer labels (5 down to 0); a language not yet reviewed by a translator is marked
`draft: true` and says so in `review:`. `load` checks the file and names the first
problem with its line; the app refuses to start with a broken file, as with data/'s
other files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpline.ivr.yamlsource import LineMap, load_schema_1

FILE = "who5.yaml"
REQUIRED = ("tr", "ar", "fa", "ps", "ku", "en")
ITEMS = 5
ANSWERS = tuple(range(5, -1, -1))  # 5 (all of the time) down to 0 (at no time)
TEXT_MAX = 300


class Who5Error(ValueError):
    """who5.yaml cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class Wording:
    """The questionnaire in one language."""

    language: str
    is_draft: bool
    review: str
    instruction: str
    items: tuple[str, ...]
    answers: Mapping[int, str]  # score: label


@dataclasses.dataclass(frozen=True)
class Who5:
    wordings: Mapping[str, Wording]

    def wording(self, language: str | None) -> Wording:
        """The wording in `language`, or English."""
        return self.wordings.get(language or "en") or self.wordings["en"]

    @property
    def drafts(self) -> tuple[str, ...]:
        """The languages still waiting for a translator's review."""
        return tuple(code for code, wording in self.wordings.items() if wording.is_draft)


def _text(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > TEXT_MAX:
        raise Who5Error(f"{where}: {what} is text of 1 to {TEXT_MAX} characters")
    return " ".join(value.split())


def _wording(path: Path, code: str, spec: Any, line: int) -> Wording:
    where = f"{path}:{line}"
    if not isinstance(spec, LineMap):
        raise Who5Error(
            f"{where}: language {code!r} maps draft, review, instruction, items, answers"
        )
    known = {"draft", "review", "instruction", "items", "answers"}
    if set(spec) != known:
        raise Who5Error(f"{where}: language {code!r} needs exactly {', '.join(sorted(known))}")
    if not isinstance(spec["draft"], bool):
        raise Who5Error(f"{path}:{spec.line_of('draft')}: `draft:` is true or false")
    items = spec["items"]
    if not isinstance(items, list) or len(items) != ITEMS:
        raise Who5Error(f"{path}:{spec.line_of('items')}: `items:` lists the {ITEMS} statements")
    answers = spec["answers"]
    if not isinstance(answers, LineMap) or sorted(answers) != sorted(str(n) for n in ANSWERS):
        raise Who5Error(
            f"{path}:{spec.line_of('answers')}: `answers:` labels each score from 5 to 0"
        )
    return Wording(
        language=code,
        is_draft=spec["draft"],
        review=_text(spec["review"], f"{path}:{spec.line_of('review')}", "`review:`"),
        instruction=_text(
            spec["instruction"], f"{path}:{spec.line_of('instruction')}", "`instruction:`"
        ),
        items=tuple(
            _text(item, f"{path}:{spec.line_of('items')}", f"statement {n + 1}")
            for n, item in enumerate(items)
        ),
        answers={
            n: _text(answers[str(n)], f"{path}:{answers.line_of(str(n))}", f"answer {n}")
            for n in ANSWERS
        },
    )


def load(path: Path) -> Who5:
    """Read who5.yaml; Who5Error naming the file and line if it is unusable."""
    data = load_schema_1(path, Who5Error, "`languages:`")
    languages = data.get("languages")
    if set(data) != {"schema", "languages"} or not isinstance(languages, LineMap):
        raise Who5Error(f"{path}:1: the file holds `schema: 1` and `languages:` only")
    missing = [code for code in REQUIRED if code not in languages]
    if missing:
        raise Who5Error(f"{path}:{languages.line}: no wording in {', '.join(missing)}")
    wordings = {
        code: _wording(path, code, spec, languages.line_of(code))
        for code, spec in languages.items()
    }
    if wordings["en"].is_draft:
        raise Who5Error(f"{path}:{languages.line_of('en')}: English is WHO's wording, not a draft")
    return Who5(wordings)
