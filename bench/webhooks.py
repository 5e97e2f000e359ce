"""Webhook throughput and latency: the IVR's incoming-call and menu-step webhooks against
two reference views, in one run, under one gunicorn configuration (3 sync workers),
with wrk at 8 connections.

Every IVR request is a fresh, correctly signed Twilio request: the incoming-call run uses
a new CallSid per request, and the menu-step run presses a key on calls that were first
brought to the language menu, so each step really moves a call on.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import http.client
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from bench.environment import PUBLIC_BASE_URL, ROOT

LUA = ROOT / "bench" / "requests.lua"
CONNECTIONS = 8
THREADS = 2


@dataclasses.dataclass(frozen=True)
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    fresh: bool  # False if wrk ran out of prepared requests and repeated some


def _params(call_sid: str, account_sid: str, **extra: str) -> dict[str, str]:
    params = {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": "+905321112233",
        "To": "+903121234567",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


def _line(path: str, params: dict[str, str], token: str | None) -> str:
    signature = (
        RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, params) if token else ""
    )
    return f"{path}\t{signature}\t{urlencode(params)}"


def _write(prefix: Path, lines: list[str]) -> None:
    """Split prepared requests between wrk's threads, so none is sent twice."""
    for thread in range(1, THREADS + 1):
        chunk = lines[thread - 1 :: THREADS]
        (prefix.parent / f"{prefix.name}.{thread}").write_text("\n".join(chunk) + "\n")


def _post(base: str, line: str) -> int:
    path, signature, body = line.split("\t", 2)
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wrk(base: str, prefix: Path, seconds: int) -> tuple[float, float, float, int, int]:
    """Run wrk with the prepared requests; rate, p50 and p99 in ms, total, errors."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is needed: apt-get install wrk")
    command = [
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(LUA),
        base + "/",
        "--",
        str(prefix),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)

    def percentile(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output)
        if match is None:
            raise RuntimeError(f"wrk printed no {label}th percentile")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return rate, percentile("50"), percentile("99"), total, int(errors.group(1)) if errors else 0


def run(
    base: str, account_sid: str, token: str, seconds: int = 10, expected_rate: int = 2500
) -> list[Result]:
    """Measure the four views one after the other; returns one Result each."""
    results = []
    prepared = expected_rate * seconds
    with tempfile.TemporaryDirectory(prefix="helpline-bench-") as folder:
        work = Path(folder)
        cases: list[tuple[str, str, list[str]]] = [
            (
                "reference: constant TwiML",
                "/bench/constant",
                [_line("/bench/constant", {"a": "1"}, None)] * 50,
            ),
            (
                "reference: 1 insert + 1 Redis write",
                "/bench/write",
                [_line("/bench/write", {"a": "1"}, None)] * 50,
            ),
            (
                "IVR: incoming call",
                "/voice/incoming",
                [
                    _line(
                        "/voice/incoming", _params("CA" + secrets.token_hex(16), account_sid), token
                    )
                    for _ in range(prepared)
                ],
            ),
        ]
        # The menu step needs calls waiting at the language menu: bring them there first.
        sids = ["CA" + secrets.token_hex(16) for _ in range(prepared)]
        incoming = [_line("/voice/incoming", _params(sid, account_sid), token) for sid in sids]
        with concurrent.futures.ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
            statuses = list(pool.map(lambda line: _post(base, line), incoming))
        if any(status != 200 for status in statuses):
            raise RuntimeError("preparing calls failed: the incoming webhook did not answer 200")
        step = "/voice/step?" + urlencode({"n": "choose_language", "t": 1, "e": "digits"})
        cases.append(
            (
                "IVR: menu step (language chosen)",
                step,
                [_line(step, _params(sid, account_sid, Digits="1"), token) for sid in sids],
            )
        )
        for name, path, lines in cases:
            prefix = work / re.sub(r"\W+", "-", name)
            _write(prefix, lines)
            rate, p50, p99, total, errors = _wrk(base, prefix, seconds)
            # The reference views may repeat their one request; the IVR's must stay fresh.
            fresh = not path.startswith("/voice") or total <= len(lines)
            results.append(Result(name, rate, p50, p99, total, errors, fresh))
    return results
