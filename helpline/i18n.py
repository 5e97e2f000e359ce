"""The console's languages (Flask-Babel): Turkish, English and Arabic (right to left).

Each member of staff reads the console in their own `Staff.ui_language` (English before
login: the login page and the supervisor's and administrator's pages are not translated
yet, except the programme report's page). Catalogs live in `helpline/translations/<lang>/`; the
compiled `.mo` files are committed next to their `.po` sources (a test checks that they
match), so a fresh checkout needs no build step. `python -m helpline.i18n` recompiles
them after the `.po` files change, and `python -m helpline.i18n update` gathers new strings
into them first (see docs/console.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from flask import Flask, g
from flask_babel import Babel, lazy_gettext
from flask_babel.speaklater import LazyString
from flask_login import current_user

LANGUAGES = ("tr", "en", "ar")
RIGHT_TO_LEFT = frozenset({"ar"})
DEFAULT = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()

# The callers' and staff's languages, named in the reader's language.
LANGUAGE_NAMES: dict[str, LazyString] = {
    "tr": lazy_gettext("Turkish"),
    "ar": lazy_gettext("Arabic"),
    "fa": lazy_gettext("Farsi"),
    "ps": lazy_gettext("Pashto"),
    "ku": lazy_gettext("Kurmanji Kurdish"),
    "en": lazy_gettext("English"),
}

TOPIC_NAMES: dict[str, LazyString] = {
    "psychosocial": lazy_gettext("Psychosocial support"),
    "child_protection": lazy_gettext("Child protection"),
    "violence": lazy_gettext("Violence"),
    "elderly_disability": lazy_gettext("Elderly and disability"),
    "social_assistance": lazy_gettext("Social assistance"),
    "migration": lazy_gettext("Migration"),
}


def topic_name(code: str | None) -> str:
    if not code:
        return str(lazy_gettext("not chosen"))
    name = TOPIC_NAMES.get(code)
    return str(name) if name is not None else code.replace("_", " ")


def language_name(code: str | None) -> str:
    if not code:
        return str(lazy_gettext("unknown"))
    name = LANGUAGE_NAMES.get(code)
    return str(name) if name is not None else code


def select_locale() -> str:
    """The member of staff's own language; English before login and for other codes."""
    if current_user.is_authenticated:
        chosen = getattr(current_user.staff, "ui_language", None)
        if chosen in LANGUAGES:
            return str(chosen)
    return DEFAULT


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def init_i18n(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )

    @app.context_processor
    def _language() -> dict[str, str]:
        language = select_locale()
        g.ui_language = language
        return {"ui_language": language, "ui_direction": direction(language)}

    app.jinja_env.filters["language_name"] = language_name
    app.jinja_env.filters["topic_name"] = topic_name


# Function names whose string arguments are messages: gettext's, and the exceptions and
# problems the services raise, which the console translates when it shows them.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
    "Problem": (2,),
    "RecordForbidden": None,
    "RecordError": None,
    "RecordNotFound": None,
    "OperationError": None,
    "PresenceError": None,
    "CallbackError": None,
    "VoicemailError": None,
    "ReferralError": None,
    "ReferralForbidden": None,
    "ReferralNotFound": None,
    "StepRefused": None,
    "CaseError": None,
    "CaseForbidden": None,
    "CaseNotFound": None,
    # The programme report's labels (helpline/reporting/programme): English message ids
    # the page translates.
    "N_": None,
    "Column": (2,),
    "table": (2,),
    "RawTable": (2,),
}


def extract(root: Path) -> Catalog:
    """Every message of the console, as `babel.cfg` maps the source files."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (TRANSLATIONS / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    template = Catalog(project="helpline")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update_catalogs(root: Path) -> list[Path]:
    """Write messages.pot from the sources and merge it into each language's .po."""
    from babel.messages.pofile import read_po, write_po

    template = extract(root)
    with (TRANSLATIONS / "messages.pot").open("wb") as target:
        write_po(target, template, width=100, no_location=True, sort_output=True)
    written: list[Path] = []
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        with po.open("wb") as target:
            write_po(target, catalog, width=100, no_location=True, sort_output=True)
        written.append(po)
    return written


def compile_catalogs(root: Path = TRANSLATIONS) -> list[Path]:
    """Compile every `.po` under root into its `.mo`; returns the files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written: list[Path] = []
    for po in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as target:
            write_mo(target, catalog)
        written.append(mo)
    return written


def main(argv: list[str]) -> int:
    """`python -m helpline.i18n update` after changing strings, then translate the .po
    files, then `python -m helpline.i18n compile` (commit all of them)."""
    if argv == ["update"]:
        paths = update_catalogs(TRANSLATIONS.parent.parent)
    elif argv in ([], ["compile"]):
        paths = compile_catalogs()
    else:
        sys.stderr.write("usage: python -m helpline.i18n [update|compile]\n")
        return 2
    for path in paths:
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    raise SystemExit(main(sys.argv[1:]))
