"""How long an MP3 plays, read from its frame headers: the sandbox plays `<Play>` audio for
its real length, as Twilio does, once it has fetched the file.

Each MPEG audio frame starts with an 11-bit sync word and a header naming its version,
layer, bitrate and sample rate, from which its length in bytes and its samples follow.
Walking the frames counts the samples, so constant and variable bitrates both come out
right. An ID3v2 tag at the start is skipped; anything that is not a frame ends the walk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

# kbit/s by bitrate index (1-14), for MPEG-1 and for MPEG-2/2.5 (v2), by layer.
_BITRATES = {
    (1, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Hz by sample rate index (0-2), by version: 3 is MPEG-1, 2 is MPEG-2, 0 is MPEG-2.5.
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_LAYERS = {3: 1, 2: 2, 1: 3}  # the header's layer bits


def _frame(data: bytes, at: int) -> tuple[int, int, int] | None:
    """(frame bytes, samples, sample rate) of the frame header at `at`, or None."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    version_bits = (data[at + 1] >> 3) & 0x3
    layer = _LAYERS.get((data[at + 1] >> 1) & 0x3)
    bitrate_index, rate_index = data[at + 2] >> 4, (data[at + 2] >> 2) & 0x3
    padding = (data[at + 2] >> 1) & 0x1
    if version_bits == 1 or layer is None or not 0 < bitrate_index < 15 or rate_index == 3:
        return None
    mpeg1 = version_bits == 3
    bitrate = _BITRATES[(1 if mpeg1 else 2, layer)][bitrate_index - 1] * 1000
    rate = _SAMPLE_RATES[version_bits][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384, rate
    samples = 1152 if layer == 2 or mpeg1 else 576
    return samples // 8 * bitrate // rate + padding, samples, rate


def _id3_size(data: bytes) -> int:
    """Bytes taken by an ID3v2 tag at the start (0 if none)."""
    if len(data) < 10 or data[:3] != b"ID3":
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer


def mp3_seconds(data: bytes) -> float | None:
    """The playing time of an MP3 file, or None if `data` holds no MPEG audio frame."""
    at = _id3_size(data)
    samples_at: dict[int, int] = {}  # samples by sample rate
    while (frame := _frame(data, at)) is not None:
        length, samples, rate = frame
        samples_at[rate] = samples_at.get(rate, 0) + samples
        at += length
    return sum(samples / rate for rate, samples in samples_at.items()) if samples_at else None


class AudioLengths:
    """Each audio URL's length, fetched once (Twilio caches media too) and remembered;
    None for a URL that cannot be fetched or is not MP3, which plays for the default."""

    def __init__(self, fetch: Callable[[str], bytes | None]) -> None:
        self._fetch = fetch
        self._known: dict[str, float | None] = {}
        self._lock = threading.Lock()

    def seconds(self, url: str) -> float | None:
        with self._lock:
            if url in self._known:
                return self._known[url]
        data = self._fetch(url)
        found = mp3_seconds(data) if data else None
        with self._lock:
            self._known[url] = found
        return found
