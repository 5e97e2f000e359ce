"""Render machine-voice placeholder audio for IVR prompts with espeak-ng and lame.

Twilio has no voice for some of the helpline's languages (Farsi, Pashto, Kurmanji). Until
a person records their prompts, espeak-ng reads each prompt's text and lame encodes it as
a small MP3 in `<flows>/audio/<language>/`. A prompt whose audio is such a stand-in has
`placeholder: true` in its prompts file. Any other audio file is a human recording: it is
never overwritten, not even with `force`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

log = logging.getLogger(__name__)

# The espeak-ng voice for each language. espeak-ng has no Pashto voice: its Persian voice
# reads the Pashto text (transliterated to Persian letters) as the nearest stand-in.
ESPEAK_VOICES: Final[Mapping[str, str]] = MappingProxyType({"fa": "fa", "ps": "fa", "ku": "ku"})

# Which `{key}` variants to render: language -> prompt key -> the keys. The flow numbers
# the language menu 1..6 in the order tr, ar, fa, ps, ku, en.
# The hold announcements number positions 1-9 and waits of 2, 5, 10 and 15 minutes.
_QUEUE_VARIANTS: Final[Mapping[str, Sequence[str]]] = MappingProxyType(
    {"queue_position": tuple(str(n) for n in range(1, 10)), "queue_wait": ("2", "5", "10", "15")}
)
DEFAULT_VARIANTS: Final[Mapping[str, Mapping[str, Sequence[str]]]] = MappingProxyType(
    {
        "fa": {"language_option": ("3",), **_QUEUE_VARIANTS},
        "ps": {"language_option": ("4",), **_QUEUE_VARIANTS},
        "ku": {"language_option": ("5",), **_QUEUE_VARIANTS},
    }
)

KEY_PLACEHOLDER: Final = "{key}"
SPEECH_RATE_WPM: Final = 140  # espeak-ng's default is 175: slower is clearer on a phone
BITRATE_KBPS: Final = 32
SAMPLE_RATE_KHZ: Final = "22.05"


class AudioError(Exception):
    """A prompts file or a prompt's audio cannot be rendered."""


class MissingToolError(AudioError):
    """espeak-ng or lame is not installed."""


@dataclass(frozen=True)
class _Job:
    language: str
    prompt: str
    voice: str
    text: str
    target: Path


@dataclass(frozen=True)
class _Tools:
    espeak: str
    lame: str


def render_placeholders(
    flows_dir: Path,
    *,
    languages: Sequence[str] | None = None,
    force: bool = False,
    variants: Mapping[str, Mapping[str, Sequence[str]]] = DEFAULT_VARIANTS,
    voices: Mapping[str, str] = ESPEAK_VOICES,
) -> list[Path]:
    """Render the placeholder audio of the prompts in `flows_dir`; return the files written.

    A prompt is rendered when it has `placeholder: true`, or when its language has no
    text-to-speech (`tts: null`), it has no `placeholder` field and none of its audio
    files exists yet; such a prompt then gets `audio:` (if missing) and
    `placeholder: true` added to its prompts file. Existing files are kept unless `force`;
    a prompt without `placeholder: true` never has an existing file overwritten.

    `languages` limits the prompts files read (default: all of `prompts/*.yaml`).
    `variants` gives, per language and prompt, the keys filled into `{key}`: one file
    for each. `voices` maps a language to its espeak-ng voice.
    """
    prompts_dir = flows_dir / "prompts"
    if isinstance(languages, str):
        raise TypeError("languages must be a sequence of language codes, not one string")
    if languages is None:
        languages = sorted(path.stem for path in prompts_dir.glob("*.yaml"))
    plans = [
        _plan(
            prompts_dir / f"{language}.yaml",
            flows_dir / "audio" / language,
            language,
            force=force,
            variants=variants.get(language, {}),
            voices=voices,
        )
        for language in languages
    ]
    if not any(jobs for jobs, _ in plans):
        return []
    tools = _find_tools()
    written: list[Path] = []
    for jobs, edit in plans:
        if edit is not None:  # first: a file rendered for an unmarked prompt looks recorded
            edit()
        for job in jobs:
            _render(tools, job)
            log.info("rendered placeholder audio %s/%s", job.language, job.target.name)
            written.append(job.target)
    return written


def _find_tools() -> _Tools:
    espeak, lame = shutil.which("espeak-ng"), shutil.which("lame")
    if espeak is None or lame is None:
        missing = [name for name, path in (("espeak-ng", espeak), ("lame", lame)) if not path]
        raise MissingToolError(
            f"{' and '.join(missing)} not found on PATH: install them "
            "(`apt-get install espeak-ng lame`) to render placeholder audio"
        )
    return _Tools(espeak=espeak, lame=lame)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AudioError(f"{path}: no such prompts file") from None
    except yaml.YAMLError as error:
        raise AudioError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
        raise AudioError(f"{path}: expected a mapping with a `prompts` mapping")
    return data


def _plan(
    path: Path,
    audio_dir: Path,
    language: str,
    *,
    force: bool,
    variants: Mapping[str, Sequence[str]],
    voices: Mapping[str, str],
) -> tuple[list[_Job], Callable[[], None] | None]:
    """Return the renders one prompts file needs, and the edit marking new placeholders."""
    data = _load(path)
    if data.get("language") != language:
        raise AudioError(f"{path}: `language` is {data.get('language')!r}, not {language!r}")
    has_tts = data.get("tts") is not None
    jobs: list[_Job] = []
    additions: dict[str, list[str]] = {}
    recorded: set[Path] = set()  # the existing audio of prompts not marked placeholder
    for prompt, fields in data["prompts"].items():
        where = f"{path.name}: prompt {prompt!r}"
        if not isinstance(fields, dict) or not isinstance(fields.get("text"), str):
            raise AudioError(f"{where}: expected a mapping with a `text` string")
        placeholder = fields.get("placeholder")
        if placeholder is not None and not isinstance(placeholder, bool):
            raise AudioError(f"{where}: `placeholder` must be true or false")
        if placeholder is not True:
            recorded.update(_recordings(audio_dir, where, fields, variants.get(prompt)))
        if placeholder is False or (placeholder is None and has_tts):
            continue
        text: str = fields["text"]
        audio = fields.get("audio")
        if audio is None:
            audio = (
                f"{prompt}-{KEY_PLACEHOLDER}.mp3" if KEY_PLACEHOLDER in text else f"{prompt}.mp3"
            )
        targets = _targets(audio_dir, where, {**fields, "audio": audio}, variants.get(prompt))
        if placeholder is None:  # no TTS, not marked: render only where nothing exists yet
            existing = [target.name for target, _ in targets if target.exists()]
            if existing:
                if len(existing) < len(targets):
                    log.warning(
                        "%s: some audio exists (%s) and some is missing; record the rest "
                        "or mark the prompt `placeholder: true`",
                        where,
                        ", ".join(existing),
                    )
                continue
            additions[prompt] = ([] if "audio" in fields else [f"audio: {audio}"]) + [
                "placeholder: true"
            ]
        elif not force:
            targets = [(target, key) for target, key in targets if not target.exists()]
        if not targets:
            continue
        voice = voices.get(language)
        if voice is None:
            raise AudioError(f"{where}: no espeak-ng voice for {language!r}; add one to voices")
        for target, key in targets:
            spoken = text if key is None else text.replace(KEY_PLACEHOLDER, key)
            jobs.append(_Job(language, prompt, voice, spoken, target))
    for job in jobs:
        if job.target in recorded:
            raise AudioError(
                f"{path.name}: prompt {job.prompt!r} would overwrite {job.target.name}, "
                "the audio of a prompt not marked placeholder"
            )
    edit = _edit_for(path, additions) if additions else None
    return jobs, edit


def _recordings(
    audio_dir: Path, where: str, fields: Mapping[str, Any], keys: Sequence[str] | None
) -> list[Path]:
    """Return the existing audio files of a prompt not marked placeholder."""
    if "audio" not in fields:
        return []
    try:
        targets = _targets(audio_dir, where, fields, keys)
    except AudioError:
        return []  # not rendered here: the flow reports a malformed prompt
    if fields.get("placeholder") is False:
        for target, _ in targets:
            if not target.exists():
                log.warning("%s: recording %s is missing", where, target.name)
    return [target for target, _ in targets if target.exists()]


def _targets(
    audio_dir: Path, where: str, fields: Mapping[str, Any], keys: Sequence[str] | None
) -> list[tuple[Path, str | None]]:
    """Return each audio file of a prompt with the key filled into it (None: no `{key}`)."""
    audio = fields.get("audio")
    if not isinstance(audio, str) or not audio:
        raise AudioError(f"{where}: `audio` must be a file name")
    if KEY_PLACEHOLDER not in audio and KEY_PLACEHOLDER not in fields["text"]:
        return [(_safe_path(audio_dir, where, audio), None)]
    if not keys:
        raise AudioError(f"{where}: has {KEY_PLACEHOLDER} but no variants were given for it")
    if KEY_PLACEHOLDER not in audio and len(keys) > 1:
        raise AudioError(f"{where}: several variants need {KEY_PLACEHOLDER} in `audio`")
    return [
        (_safe_path(audio_dir, where, audio.replace(KEY_PLACEHOLDER, key)), key) for key in keys
    ]


def _safe_path(audio_dir: Path, where: str, name: str) -> Path:
    target = audio_dir / name
    if Path(name).is_absolute() or not target.resolve().is_relative_to(audio_dir.resolve()):
        raise AudioError(f"{where}: audio file {name!r} is outside {audio_dir}")
    if target.suffix != ".mp3":
        raise AudioError(f"{where}: audio file {name!r} is not an .mp3 file")
    return target


_HEADER = re.compile(r"^(?P<indent> +)(?P<key>[A-Za-z0-9_]+):\s*(?:#.*)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _add_fields(source: str, additions: Mapping[str, Sequence[str]]) -> str:
    """Return `source` with the given lines added at the end of some prompts' blocks."""
    lines = source.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if re.match(r"^prompts:\s*(#.*)?$", line)), None
    )
    if start is None:
        raise AudioError("no block-style `prompts:` mapping")
    # prompt -> [indent of its fields, index of its block's last line]
    blocks: dict[str, list[int]] = {}
    prompt_indent: int | None = None
    current: str | None = None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        indent = _indent(line)
        if not line.strip() or (line.lstrip().startswith("#") and indent <= (prompt_indent or 0)):
            continue
        if indent == 0:
            break  # the next top-level key
        if current is not None and prompt_indent is not None and indent > prompt_indent:
            block = blocks[current]
            block[0] = block[0] or indent
            block[1] = i
            continue
        match = _HEADER.match(line)
        if match is None or prompt_indent not in (None, indent):
            current = None
            continue
        prompt_indent, current = indent, match["key"]
        blocks[current] = [0, i]
    inserts: list[tuple[int, str]] = []
    for prompt, fields in additions.items():
        if prompt not in blocks or not blocks[prompt][0]:
            raise AudioError(f"prompt {prompt!r} is not a block mapping")
        field_indent, last = blocks[prompt]
        newline = "\r\n" if lines[last].endswith("\r\n") else "\n"
        if not lines[last].endswith(("\n", "\r")):
            lines[last] += newline
        inserts.append(
            (last + 1, "".join(f"{' ' * field_indent}{field}{newline}" for field in fields))
        )
    for at, text in sorted(inserts, reverse=True):
        lines.insert(at, text)
    return "".join(lines)


def _edit_for(path: Path, additions: Mapping[str, Sequence[str]]) -> Callable[[], None]:
    """Prepare and check the edit of `path`; return the function that writes it."""
    source = path.read_text(encoding="utf-8")
    expected = yaml.safe_load(source)
    for prompt, fields in additions.items():
        expected["prompts"][prompt].update(yaml.safe_load("\n".join(fields)))
    try:
        edited = _add_fields(source, additions)
        if yaml.safe_load(edited) != expected:
            raise AudioError("the edited file does not read back as intended")
    except (AudioError, yaml.YAMLError) as error:
        raise AudioError(
            f"{path}: cannot add `placeholder: true` to {', '.join(additions)} ({error}); "
            "add it by hand"
        ) from error

    def write() -> None:
        _replace(path, edited.encode("utf-8"))
        log.info("marked %d new placeholder prompt(s) in %s", len(additions), path.name)

    return write


def _replace(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Pashto letters that the Persian voice does not know, mapped to the nearest Persian ones.
_PASHTO_TO_PERSIAN: Final = str.maketrans(
    {
        "ښ": "ش",
        "ږ": "ژ",
        "ټ": "ت",
        "ډ": "د",
        "ړ": "ر",
        "ڼ": "ن",
        "ځ": "ز",
        "څ": "س",
        "ګ": "گ",
        "ې": "ی",
        "ۍ": "ی",
        "ئ": "ی",
        "ي": "ی",
        "ك": "ک",
    }
)


def _speech_text(language: str, voice: str, text: str) -> str:
    """Return `text` as the espeak-ng voice should read it."""
    text = re.sub(r"\bALO\b", "Alo", text)  # a word ("alo" 183), not three letters
    if language == "ps" and voice == "fa":
        text = text.translate(_PASHTO_TO_PERSIAN)
        text = re.sub(r"(?<!\w)د(?!\w)", "دِ", text)  # "də" (of), not the letter's name
    return text


def _render(tools: _Tools, job: _Job) -> None:
    job.target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="helpline-audio-") as tmp:
        wav = Path(tmp) / "speech.wav"
        mp3 = Path(tmp) / "speech.mp3"
        try:
            subprocess.run(  # noqa: S603 (absolute tool path, no shell)
                [
                    tools.espeak,
                    "-v",
                    job.voice,
                    "-s",
                    str(SPEECH_RATE_WPM),
                    "-b",
                    "1",
                    "-w",
                    str(wav),
                    "--stdin",
                ],
                input=_speech_text(job.language, job.voice, job.text).encode("utf-8"),
                check=True,
                capture_output=True,
            )
            subprocess.run(  # noqa: S603 (absolute tool path, no shell)
                [
                    tools.lame,
                    "--quiet",
                    "-m",
                    "m",
                    "-b",
                    str(BITRATE_KBPS),
                    "--resample",
                    SAMPLE_RATE_KHZ,
                    str(wav),
                    str(mp3),
                ],
                check=True,
                capture_output=True,
            )
        except subprocess.CalledProcessError as error:
            tool = Path(str(error.cmd[0])).name
            raise AudioError(
                f"{tool} failed with status {error.returncode} rendering prompt "
                f"{job.prompt!r} of {job.language!r} ({job.target.name})"
            ) from None
        _replace(job.target, mp3.read_bytes())
