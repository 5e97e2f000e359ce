"""The sandbox plays `<Play>` audio for its real length when it measures it, as Twilio
does: the length comes from the MP3's frames, fetched once per URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask import Flask

from helpline.config import DEFAULT_FLOWS_PATH, Settings
from helpline.sandbox import sounds
from helpline.sandbox.audio import AudioLengths, mp3_seconds
from helpline.sandbox.emulator.exchange import Exchange
from helpline.sandbox.emulator.server import line_for
from helpline.sandbox.transport import FlaskTransport

HOLD = DEFAULT_FLOWS_PATH / "audio" / "shared" / "hold.mp3"
# MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417 bytes and 1,152 samples a frame.
FRAME = b"\xff\xfb\x90\x00" + bytes(413)


def _id3(body: bytes) -> bytes:
    size = len(body)
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + syncsafe + body


def test_mp3_length_is_counted_frame_by_frame() -> None:
    assert mp3_seconds(FRAME * 100) == 100 * 1152 / 44100
    assert mp3_seconds(_id3(b"x" * 300) + FRAME * 10) == 10 * 1152 / 44100
    assert mp3_seconds(FRAME * 3 + b"trailing junk") == 3 * 1152 / 44100


def test_what_is_not_mp3_has_no_length() -> None:
    for data in (b"", b"<Response/>", b"\xff\xfb", b"\xff\xff\xff\xff" * 10, _id3(b"")):
        assert mp3_seconds(data) is None


def test_the_hold_music_lasts_what_its_bitrate_says() -> None:
    data = HOLD.read_bytes()
    # 32 kbit/s at a constant bitrate: the size says the length too.
    assert abs((mp3_seconds(data) or 0) - len(data) * 8 / 32000) < 0.05


def test_lengths_are_fetched_once_per_url() -> None:
    fetched: list[str] = []

    def fetch(url: str) -> bytes | None:
        fetched.append(url)
        return FRAME * 50 if url.endswith(".mp3") else None

    lengths = AudioLengths(fetch)
    for _ in range(3):
        assert lengths.seconds("http://a/x.mp3") == 50 * 1152 / 44100
        assert lengths.seconds("http://a/missing") is None
    assert fetched == ["http://a/x.mp3", "http://a/missing"]


def _play(url: str) -> ET.Element:
    return ET.fromstring(f"<Play>{url}</Play>")


def test_a_measuring_sandbox_plays_the_apps_hold_music_for_its_length(
    app: Flask, settings: Settings
) -> None:
    """Fetched from the app as Twilio fetches media; a URL it cannot fetch plays 5 s."""
    base = settings.public_base_url
    measuring, plain = (
        Exchange(
            account_sid=settings.twilio_account_sid or "",
            auth_token=settings.twilio_auth_token or "",
            transport=FlaskTransport(app, base),
            line=line_for(settings),
            measure_audio=measure,
        )
        for measure in (True, False)
    )
    try:
        url = f"{base}/voice/audio/shared/hold.mp3"
        document = f"{base}/voice/wait"
        expected = round(mp3_seconds(HOLD.read_bytes()) or 0, 2)
        assert sounds.sound(_play(url), document, measuring.audio).once == expected
        assert 23 < expected < 25
        assert plain.audio is None
        assert sounds.sound(_play(url), document, plain.audio).once == sounds.PLAY_SECONDS
        missing = _play(f"{base}/voice/audio/shared/nothing.mp3")
        assert sounds.sound(missing, document, measuring.audio).once == sounds.PLAY_SECONDS
    finally:
        measuring.close()
        plain.close()
