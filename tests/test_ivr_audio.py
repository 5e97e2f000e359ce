"""The IVR prompt files and their placeholder audio. No database or Redis needed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpline.ivr.audio import (
    DEFAULT_VARIANTS,
    AudioError,
    MissingToolError,
    render_placeholders,
)

FLOWS = Path(__file__).resolve().parent.parent / "ivr_flows"
LANGUAGES = ("tr", "ar", "fa", "ps", "ku", "en")
TRANSLATED = tuple(language for language in LANGUAGES if language != "en")
WITHOUT_TTS = ("fa", "ps", "ku")

needs_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("lame") is None,
    reason="espeak-ng or lame is not installed (apt-get install espeak-ng lame; CI has them)",
)


def load(language: str, flows: Path = FLOWS) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (flows / "prompts" / f"{language}.yaml").read_text(encoding="utf-8")
    )
    return data


def is_mp3(content: bytes) -> bool:
    """Tell whether `content` starts with an ID3 tag or an MPEG audio frame sync."""
    return content.startswith(b"ID3") or (
        len(content) >= 2 and content[0] == 0xFF and content[1] & 0xE0 == 0xE0
    )


def audio_files(language: str, flows: Path = FLOWS) -> dict[str, list[Path]]:
    """Map each prompt of `language` to its audio files, `{key}` filled in."""
    files: dict[str, list[Path]] = {}
    for key, prompt in load(language, flows)["prompts"].items():
        name = prompt["audio"]
        keys = DEFAULT_VARIANTS.get(language, {}).get(key, ()) if "{key}" in name else ("",)
        files[key] = [flows / "audio" / language / name.replace("{key}", k) for k in keys]
    return files


@pytest.mark.parametrize("language", LANGUAGES)
def test_prompt_files_have_exactly_the_english_keys(language: str) -> None:
    english = load("en")
    data = load(language)
    assert data["language"] == language
    assert list(data) == list(english)
    assert list(data["prompts"]) == list(english["prompts"])
    assert all(isinstance(prompt["text"], str) for prompt in data["prompts"].values())
    assert "{key}" in data["prompts"]["language_option"]["text"]


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_digits_and_say_whether_reviewed(language: str) -> None:
    english = load("en")["prompts"]
    for key, prompt in load(language)["prompts"].items():
        digits = re.findall(r"\d+", prompt["text"])
        expected = re.findall(r"\d+", english[key]["text"])
        assert sorted(digits) == sorted(expected), key
        assert isinstance(prompt.get("reviewed"), bool), key
    # The same digit for the same topic, in the same order.
    menu = load(language)["prompts"]["topic_menu"]["text"]
    assert re.findall(r"\d+", menu) == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("language", WITHOUT_TTS)
def test_every_prompt_without_tts_has_an_mp3(language: str) -> None:
    assert load(language)["tts"] is None
    for key, files in audio_files(language).items():
        assert files, f"{language}/{key}: no variants to check"
        for path in files:
            assert path.is_file(), path
            content = path.read_bytes()
            assert len(content) > 1000, path
            assert is_mp3(content), path


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "ivr_flows"
    shutil.copytree(FLOWS, copy)
    return copy


def record_by_hand(flows: Path, language: str, prompt: str) -> bytes:
    """Replace a placeholder with a 'recording' and unmark it, as the README says."""
    recording = b"ID3 a person's recording"
    (flows / "audio" / language / f"{prompt}.mp3").write_bytes(recording)
    path = flows / "prompts" / f"{language}.yaml"
    source = path.read_text(encoding="utf-8")
    marked = f"    audio: {prompt}.mp3\n    placeholder: true\n"
    assert marked in source
    path.write_text(source.replace(marked, f"    audio: {prompt}.mp3\n"), encoding="utf-8")
    return recording


@needs_tools
def test_render_fills_in_placeholders_and_never_overwrites_a_recording(
    flows_copy: Path,
) -> None:
    fa = flows_copy / "audio" / "fa"
    recording = record_by_hand(flows_copy, "fa", "welcome")
    (fa / "goodbye.mp3").unlink()

    assert render_placeholders(flows_copy, languages=["fa"]) == [fa / "goodbye.mp3"]
    assert is_mp3((fa / "goodbye.mp3").read_bytes())
    assert (fa / "welcome.mp3").read_bytes() == recording

    written = render_placeholders(flows_copy, languages=["fa"], force=True)
    assert fa / "welcome.mp3" not in written
    assert fa / "language_option-3.mp3" in written
    # One file a prompt but the hand-made one, and one per number of a numbered prompt.
    variants = sum(len(keys) - 1 for keys in DEFAULT_VARIANTS["fa"].values())
    assert len(written) == len(load("fa")["prompts"]) - 1 + variants
    assert (fa / "welcome.mp3").read_bytes() == recording
    assert render_placeholders(flows_copy) == []


@needs_tools
def test_render_gives_a_new_language_its_placeholders(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    prompts = tmp_path / "prompts" / "xx.yaml"
    prompts.write_text(
        "# A test language.\n"
        "language: xx\n"
        "tts: null\n"
        "prompts:\n"
        "  welcome:\n"
        "    text: Silav.   # a comment\n"
        "  language_option:\n"
        "    text: >-\n"
        "      Ji bo Kurmancî,\n"
        "      bişkoka {key} bitikînin.\n"
        "\n"
        "  goodbye:\n"
        "    text: Bi xatirê we.\n"
        "    audio: bye.mp3\n"
        "schema: 1\n",
        encoding="utf-8",
    )
    variants = {"xx": {"language_option": ["7", "8"]}}
    with pytest.raises(AudioError, match="no variants"):
        render_placeholders(tmp_path, voices={"xx": "ku"})
    written = render_placeholders(tmp_path, variants=variants, voices={"xx": "ku"})
    folder = tmp_path / "audio" / "xx"
    assert sorted(path.name for path in written) == [
        "bye.mp3",
        "language_option-7.mp3",
        "language_option-8.mp3",
        "welcome.mp3",
    ]
    assert all(is_mp3(path.read_bytes()) for path in written)
    data = load("xx", tmp_path)
    assert data["prompts"] == {
        "welcome": {"text": "Silav.", "audio": "welcome.mp3", "placeholder": True},
        "language_option": {
            "text": "Ji bo Kurmancî, bişkoka {key} bitikînin.",
            "audio": "language_option-{key}.mp3",
            "placeholder": True,
        },
        "goodbye": {"text": "Bi xatirê we.", "audio": "bye.mp3", "placeholder": True},
    }
    edited = prompts.read_text(encoding="utf-8")
    assert edited.startswith("# A test language.\n")
    assert (
        "    text: Silav.   # a comment\n    audio: welcome.mp3\n    placeholder: true\n" in edited
    )
    assert (folder / "welcome.mp3").stat().st_size > 0
    assert render_placeholders(tmp_path, variants=variants, voices={"xx": "ku"}) == []


def test_render_says_which_tool_is_missing(
    flows_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (flows_copy / "audio" / "ku" / "goodbye.mp3").unlink()
    monkeypatch.setenv("PATH", str(flows_copy / "prompts"))  # no tools there
    with pytest.raises(MissingToolError, match="espeak-ng and lame"):
        render_placeholders(flows_copy, languages=["ku"])


def test_nothing_to_render_needs_no_tools(
    flows_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(flows_copy / "prompts"))  # no tools there
    assert render_placeholders(flows_copy) == []


def test_render_refuses_audio_outside_its_folder(flows_copy: Path) -> None:
    path = flows_copy / "prompts" / "ps.yaml"
    source = path.read_text(encoding="utf-8")
    path.write_text(source.replace("audio: goodbye.mp3", "audio: ../fa/goodbye.mp3"), "utf-8")
    with pytest.raises(AudioError, match="outside"):
        render_placeholders(flows_copy, languages=["ps"])


def test_render_refuses_a_placeholder_sharing_a_recordings_file(flows_copy: Path) -> None:
    recording = record_by_hand(flows_copy, "fa", "welcome")
    path = flows_copy / "prompts" / "fa.yaml"
    source = path.read_text(encoding="utf-8")
    path.write_text(source.replace("audio: goodbye.mp3", "audio: welcome.mp3"), "utf-8")
    with pytest.raises(AudioError, match=r"would overwrite welcome\.mp3"):
        render_placeholders(flows_copy, languages=["fa"], force=True)
    assert (flows_copy / "audio" / "fa" / "welcome.mp3").read_bytes() == recording
