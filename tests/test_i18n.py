"""The console's languages: catalogs complete and compiled, each member of staff's own
language, Arabic right to left."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from helpline.i18n import LANGUAGES, TRANSLATIONS, direction, extract
from tests.factories import Factory, csrf_token, login

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [code for code in LANGUAGES if code != "en"]


def _catalog(language: str) -> Catalog:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=language)


def _console_strings() -> set[str]:
    """Every message the console's code and templates ask to translate."""
    return {m.id if isinstance(m.id, str) else m.id[0] for m in extract(ROOT) if m.id}


@pytest.mark.parametrize("language", TRANSLATED)
def test_i18n_catalog_translates_every_console_string(language: str) -> None:
    """Each catalog has a translation for every string of the console (when this fails,
    extract and update the catalogs as docs/console.md says)."""
    catalog = _catalog(language)
    strings = _console_strings()
    assert len(strings) > 250
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.string}
    untranslated = sorted(strings - translated)
    assert untranslated == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_i18n_compiled_catalog_matches_its_source(language: str) -> None:
    """The committed .mo is exactly its .po compiled: a fresh checkout needs no build
    step (`python -m helpline.i18n` recompiles)."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(language))
    committed = (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert committed == compiled.getvalue()


@pytest.mark.parametrize(
    ("language", "heading", "state"),
    [
        ("en", "My state", "Available"),
        ("tr", "Durumum", "Müsait"),
        ("ar", "حالتي", "متاح"),
    ],
)
def test_i18n_console_speaks_the_staff_language(
    client: FlaskClient, factory: Factory, language: str, heading: str, state: str
) -> None:
    """A counsellor reads the console in their own language, Arabic right to left."""
    factory.staff("ayse", ui_language=language)
    login(client, "ayse")
    page = client.get("/console/").get_data(as_text=True)
    assert f'<html lang="{language}" dir="{direction(language)}">' in page
    assert f'<h2 id="presence-heading">{heading}</h2>' in page
    assert f">{state}</button>" in page


def test_i18n_staff_choose_their_language(client: FlaskClient, factory: Factory) -> None:
    """The console's language form changes the member's own `ui_language`; an unknown
    code is refused with a message."""
    staff = factory.staff("ali", roles=("interpreter",), languages=("ar", "tr"))
    login(client, "ali")
    token = csrf_token(client.get("/console/interpreter").get_data(as_text=True))
    client.post("/console/language", data={"csrf_token": token, "language": "ar"})
    page = client.get("/console/interpreter").get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert "الترجمة" in page
    refused = client.post(
        "/console/language",
        data={"csrf_token": token, "language": "xx"},
        follow_redirects=True,
    )
    assert "اختر التركية أو الإنجليزية أو العربية." in refused.get_data(as_text=True)
    factory.session.refresh(staff)
    assert staff.ui_language == "ar"
    assert client.post("/console/language", data={"language": "tr"}).status_code == 400


def test_i18n_record_problems_in_the_staff_language(client: FlaskClient, factory: Factory) -> None:
    """The records service's problems are shown in the counsellor's language; one that
    carries a typed value stays in English, escaped."""
    factory.staff("ayse", ui_language="tr")
    login(client, "ayse")
    page = client.get("/console/records/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "action": "finalise",
        "call_type": "data",
        "referrals-0-kind": "social_service_centre",
        "referrals-0-province": "Konya",
        "referrals-0-centre": "<b>Nowhere</b>",
    }
    shown = client.post("/console/records/new", data=data).get_data(as_text=True)
    assert "Görüşmenin özetini yazın." in shown
    assert "Choose a centre in Konya." in shown
    assert "<b>Nowhere</b>" not in shown
