"""`helpline fallback-twiml`: a static document for the Voice Fallback URL, hosted apart
from the app, that greets in every language and rings every duty number."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from helpline.cli import main
from helpline.config import DEFAULT_FLOWS_PATH
from helpline.ivr.loader import load_catalog
from helpline.ivr.static_fallback import DOCUMENT, languages_of
from helpline.telephony import twiml

DUTY = ("+905550000101", "+905550000102", "+905550000103")
BASE = "https://static.example.org/helpline-fallback"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HELPLINE_ENV", "test")
    monkeypatch.setenv("HELPLINE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("HELPLINE_NUMBER", "+905550000100")
    monkeypatch.delenv("IVR_FLOWS_PATH", raising=False)
    monkeypatch.setenv("DUTY_LINE_NUMBER", ",".join(DUTY))


def _run(out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["fallback-twiml", "--audio-base-url", BASE, "--out", str(out), *extra]
    )
    return result.exit_code, result.output


def test_fallback_twiml_greets_in_every_language_and_rings_every_duty_number(
    environment: None, tmp_path: Path
) -> None:
    """The document is valid TwiML: each language of the flows is greeted (Say with a
    Twilio voice where the language has one, Play of a recording written beside the
    document otherwise), then one Dial rings every duty number together."""
    out = tmp_path / "site"
    code, output = _run(out)
    assert code == 0, output
    verbs = twiml.parse((out / DOCUMENT).read_text(encoding="utf-8"))
    names = [verb.tag for verb in verbs]
    dials = [verb for verb in verbs if verb.tag == "Dial"]
    assert len(dials) == 1
    assert [twiml.text(number) for number in dials[0]] == list(DUTY)
    assert {number.tag for number in dials[0]} == {"Number"}
    assert dials[0].get("callerId") == "+905550000100"
    assert names[-1] == "Hangup"
    before = verbs[: names.index("Dial")]
    catalog, problems = load_catalog(DEFAULT_FLOWS_PATH)
    assert problems == []
    languages = languages_of(catalog)
    assert len(languages) == 6
    assert len(before) == len(languages)
    for language_code, verb in zip(languages, before, strict=True):
        language = catalog.languages[language_code]
        prompt = language.prompts["connecting_duty"]
        if prompt.audio is not None:
            assert verb.tag == "Play"
            url = twiml.text(verb)
            assert url == f"{BASE}/{language_code}/{prompt.audio}"
            hosted = out / urlsplit(url).path.removeprefix(urlsplit(BASE).path + "/")
            assert hosted.is_file()
        else:
            assert verb.tag == "Say"
            assert language.tts is not None
            assert verb.get("voice") == language.tts.voice
            assert twiml.text(verb) == prompt.text
    assert {verb.tag for verb in before} == {"Say", "Play"}  # both kinds in the six


def test_fallback_twiml_refuses_without_a_duty_number(
    environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No duty number configured: a clear error naming DUTY_LINE_NUMBER, nothing written."""
    monkeypatch.delenv("DUTY_LINE_NUMBER")
    out = tmp_path / "site"
    code, output = _run(out)
    assert code == 1
    assert "DUTY_LINE_NUMBER" in output
    assert not (out / DOCUMENT).exists()


def test_fallback_twiml_refuses_a_base_url_that_is_not_http(
    environment: None, tmp_path: Path
) -> None:
    """Recordings must be fetched by Twilio: a base URL that is not http(s) is refused."""
    result = CliRunner().invoke(
        main, ["fallback-twiml", "--audio-base-url", "static/files", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "http" in result.output
