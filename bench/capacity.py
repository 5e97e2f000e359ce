"""Concurrent-call capacity: N simulated calls at once through the real IVR and queue.

The app runs as in production: gunicorn with the production image's options (the
Dockerfile's CMD), one RQ worker process (worker.py, as docker-compose runs it), a fresh
PostgreSQL database and Redis. The telephony sandbox runs in this process at real speed
(1.0) and plays every call over HTTP with correctly signed requests; the app's REST calls
(ringing counsellors, moving callers) reach the sandbox as they would reach Twilio.

Each caller walks the IVR (language, the remember question, a topic), waits in the queue
hearing the hold loop (the waitUrl document, again after every round; the sandbox plays
the hold music for its real 24 s, as Twilio does) and hangs up after
a patience drawn between PATIENCE seconds; counsellors' phones answer, accept with 1 and
talk for TALK_SECONDS, so some callers are connected. The bench keeps N callers live:
whoever ends is replaced by a new caller, so the IVR's own webhooks run throughout.

Per plateau (N = each of STEPS): place callers until N are live, let SETTLE_SECONDS pass,
then measure HOLD_SECONDS. Every webhook is timed at the client (the sandbox), from the
request sent to the answer read, and named by its path. A plateau's p99 is over every
webhook in its window. Every step is run (see `run` for when it stops early). CPU is
read from /proc for the sandbox (this process), gunicorn, the worker, PostgreSQL's
backends and the machine as a whole (so other work on the machine shows).

HELPLINE_BENCH_KEEP=<folder> keeps there the worker's log, gunicorn's access log (with
each request's time in the app, in microseconds, last on each line) and every sample
(samples.tsv: seconds since the first, webhook, ms, ok), to see where time goes.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import redis
import sqlalchemy as sa
import yaml
from rq import Worker

from bench.capacity_report import Cpu, Plateau, Sample, by_kind, latency, window
from bench.environment import (
    PUBLIC_BASE_URL,
    ROOT,
    gunicorn,
    production_environment,
    production_gunicorn_options,
)
from helpline.sandbox.emulator.legs import Leg
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.emulator.server import SandboxServer
from helpline.sandbox.transport import HttpTransport, Resign, TransportError, TransportResponse
from helpline.telephony import twiml

STEPS = (500, 1000, 1500, 2000, 2500, 3000)
SETTLE_SECONDS = 100.0  # the last callers placed reach the queue (the IVR takes about 70 s)
HOLD_SECONDS = 60.0
ARRIVALS_PER_SECOND = 25.0  # how fast callers are placed while a plateau fills
FILL_GRACE = 60.0
SANDBOX_POLL = 10.0  # real seconds an idle leg sleeps before it looks again (default 1)
PATIENCE = (120, 600)  # seconds a caller waits in the queue before hanging up
COUNSELLORS = 30
TALK_SECONDS = 45.0
LANGUAGES = ("tr", "ar", "fa", "ps", "ku", "en")
TOPICS = ("psychosocial", "child_protection", "violence", "elderly_disability", "social_assistance")
WEBHOOK_TIMEOUT = 15.0  # as the sandbox's own
STOP_LIVE = 0.9  # the run stops once the sandbox cannot hold this share of the calls
ACCESS_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(D)s'  # diagnosis only: the time in the app
STOP_ERRORS = 0.01  # a share of the window's webhooks
AUDIO = "/voice/audio/"  # media the sandbox fetches to learn its length: not timed


class TimedTransport:
    """HTTP to the app, with every request timed: the sandbox's webhooks go to the public
    URL they were signed for; this sends them to gunicorn's address instead and records
    a Sample (200 with valid TwiML, or an error)."""

    def __init__(self, public_base: str) -> None:
        self.public_base = public_base.rstrip("/")
        self.app_base = ""  # set once gunicorn listens
        self.samples: list[Sample] = []  # appended from many threads (atomic in CPython)
        self._http = HttpTransport(timeout=WEBHOOK_TIMEOUT)

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        resign: Resign | None = None,
    ) -> TransportResponse:
        inside = url.startswith(self.public_base)
        target = self.app_base + url[len(self.public_base) :] if inside else url
        kind = url[len(self.public_base) :].split("?", 1)[0] if inside else "(other)"
        if kind.startswith(AUDIO):  # the sandbox fetching media, not a webhook
            return self._http.request(method, target, params, headers, resign=resign)
        started = time.monotonic()
        try:
            response = self._http.request(method, target, params, headers, resign=resign)
        except TransportError:
            self.samples.append(Sample(started, kind, _ms(started), ok=False))
            raise
        self.samples.append(Sample(started, kind, _ms(started), ok=_valid(response)))
        final = response.final_url
        if inside and final.startswith(self.app_base):
            final = self.public_base + final[len(self.app_base) :]
        return dataclasses.replace(response, final_url=final)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _valid(response: TransportResponse) -> bool:
    if response.status != 200:
        return False
    try:
        twiml.parse(response.body)
    except twiml.TwimlError:
        return False
    return True


# CPU, from /proc


def _ticks(pid: int, children: bool = False) -> int:
    """Clock ticks of CPU a process used (with its waited-for children if asked)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    used = int(fields[11]) + int(fields[12])  # utime, stime
    return used + (int(fields[13]) + int(fields[14]) if children else 0)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _listening(port: int) -> int:
    """The pid of the gunicorn master bound to this port."""
    needle = f"127.0.0.1:{port}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                words = (entry / "cmdline").read_bytes().split(b"\0")
                if b"gunicorn" in b" ".join(words) and needle in words:
                    return int(entry.name)
    raise RuntimeError("gunicorn's master process was not found")


def _database_backends(database: str) -> list[int]:
    """PostgreSQL's processes serving this database (their title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes()
                if title.startswith(b"postgres:") and f" {database} ".encode() in title:
                    found.append(int(entry.name))
    return found


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclasses.dataclass(frozen=True)
class CpuMark:
    at: float
    sandbox: float  # seconds
    app: int  # ticks
    worker: int
    database: dict[int, int]  # ticks per backend
    busy: int
    total: int


class CpuMeter:
    def __init__(self, gunicorn_pid: int, worker_pid: int, database: str) -> None:
        self.gunicorn_pid = gunicorn_pid
        self.worker_pid = worker_pid
        self.database = database
        self.hz = os.sysconf("SC_CLK_TCK")

    def mark(self) -> CpuMark:
        times = os.times()
        app = _ticks(self.gunicorn_pid) + sum(_ticks(p) for p in _children(self.gunicorn_pid))
        busy, total = _machine_ticks()
        return CpuMark(
            time.monotonic(),
            times.user + times.system,
            app,
            _ticks(self.worker_pid, children=True),
            {pid: _ticks(pid) for pid in _database_backends(self.database)},
            busy,
            total,
        )

    def between(self, start: CpuMark, end: CpuMark) -> Cpu:
        wall = max(end.at - start.at, 1e-9)
        cores = os.cpu_count() or 1
        total = max(end.total - start.total, 1)
        database = sum(ticks - start.database.get(pid, 0) for pid, ticks in end.database.items())
        return Cpu(
            sandbox=(end.sandbox - start.sandbox) / wall,
            app=(end.app - start.app) / self.hz / wall,
            worker=(end.worker - start.worker) / self.hz / wall,
            database=database / self.hz / wall,
            machine=cores * (end.busy - start.busy) / total,
        )


# The line: flows always open, counsellors on duty


def open_flows(folder: Path) -> Path:
    """A copy of ivr_flows whose schedules are open around the clock (the run must not
    meet closed hours); routing, prompts and the flow itself are the real ones."""
    flows = folder / "ivr_flows"
    shutil.copytree(ROOT / "ivr_flows", flows, ignore=shutil.ignore_patterns("audio"))
    (flows / "audio").symlink_to(ROOT / "ivr_flows" / "audio")
    path = flows / "schedules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for schedule in data["schedules"].values():
        schedule["hours"] = {"daily": "00:00-24:00"}
        schedule["holidays"] = []
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return flows


def _staff_phone(n: int) -> str:
    return f"+9055583{n:05d}"


def put_on_duty(env: dict[str, str], sandbox: SandboxServer) -> None:
    """COUNSELLORS counsellors speaking every language, their phones answering with 1."""
    from helpline import create_app
    from helpline.audit.chain import Actor
    from helpline.config import Settings
    from helpline.extensions import db, get_redis
    from helpline.routing import presence
    from helpline.staff.accounts import StaffSpec, add_staff

    app = create_app(Settings.from_env(env), {"TESTING": True})
    behaviour = Behaviour("answer", after=3, talk=TALK_SECONDS, keys="1")
    with app.app_context():
        for n in range(COUNSELLORS):
            spec = StaffSpec(
                username=f"capacity.c{n}",
                display_name="Bench",
                roles=("counsellor",),
                languages=LANGUAGES,
                topics=TOPICS,
                phone=_staff_phone(n),
            )
            staff = add_staff(db.session, spec, Actor("bench"))
            db.session.commit()
            sandbox.exchange.set_phone(_staff_phone(n), behaviour)
            presence.set_state(get_redis(), db.session, staff.id, "available", reason="bench")
            db.session.commit()
        db.engine.dispose()


def flow_keys(flows: Path) -> tuple[dict[str, str], tuple[str, str] | None, dict[str, str]]:
    """The keys a caller presses in the default flow: languages, the remember question
    (yes, no), topics; read from the flow as demo-traffic does."""
    from helpline.ivr.loader import load_catalog
    from helpline.sandbox.traffic import FlowKeys

    catalog, _ = load_catalog(flows)
    flow = catalog.flows["default"]
    keys = FlowKeys.from_flow(flow)
    return dict(keys.languages), keys.remember, dict(keys.topics)


# Callers


class Callers:
    """Keeps N callers live on the sandbox, replacing those who end."""

    def __init__(self, sandbox: SandboxServer, flows: Path, seed: int = 183) -> None:
        self.sandbox = sandbox
        self.rng = random.Random(seed)  # noqa: S311 (what callers do, not security)
        self.languages, self.remember, self.topics = flow_keys(flows)
        self.live: list[Leg] = []
        self.placed = 0
        self._base = secrets.randbelow(10**6)

    def script(self) -> str:
        steps = [f"press {self.languages[self.rng.choice(list(self.languages))]}"]
        if self.remember is not None:
            steps.append(f"press {self.remember[1]}")
        steps.append(f"press {self.topics[self.rng.choice(list(self.topics))]}")
        steps += [f"wait {self.rng.randint(*PATIENCE)}", "hangup"]
        return "; ".join(steps)

    def count(self) -> int:
        self.live = [leg for leg in self.live if not leg.ended.is_set()]
        return len(self.live)

    def top_up(self, target: int, budget: int) -> int:
        """Place up to `budget` callers towards `target` live; returns how many."""
        missing = min(target - self.count(), budget)
        for _ in range(max(0, missing)):
            number = f"+90532{(self._base + self.placed) % 10**7:07d}"
            self.live.append(self.sandbox.exchange.place_call(number, script=self.script()))
            self.placed += 1
        return max(0, missing)

    def hold(self, target: int, seconds: float) -> tuple[int, int]:
        """Keep `target` callers live for `seconds`; (fewest, most) live seen."""
        least, most = 10**9, 0
        end = time.monotonic() + seconds
        tick = 0.2
        while time.monotonic() < end:
            self.top_up(target, max(1, round(ARRIVALS_PER_SECOND * tick)))
            live = self.count()
            least, most = min(least, live), max(most, live)
            time.sleep(tick)
        return least, most

    def fill(self, target: int) -> None:
        """Place callers until `target` are live, or give up after FILL_GRACE more seconds
        than the arrival rate needs (a load generator past its limit): the plateau is then
        measured as it is, and its live count says so."""
        tick = 0.2
        deadline = time.monotonic() + target / ARRIVALS_PER_SECOND + FILL_GRACE
        while self.count() < target and time.monotonic() < deadline:
            self.top_up(target, max(1, round(ARRIVALS_PER_SECOND * tick)))
            time.sleep(tick)

    def hang_up_all(self) -> None:
        for leg in list(self.live):
            with contextlib.suppress(Exception):
                self.sandbox.exchange.hang_up(leg.sid)


# The run


@contextlib.contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(ROOT / "worker.py")], env=env, stdout=out, stderr=out
        )
    connection = redis.Redis.from_url(env["REDIS_URL"])
    try:
        deadline = time.monotonic() + 60
        while not Worker.all(connection=connection):  # registered: it is listening
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start (log: {log})")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclasses.dataclass(frozen=True)
class Setup:
    options: list[str]
    counsellors: int = COUNSELLORS


def run(
    database_url: str,
    redis_url: str,
    steps: Sequence[int] = STEPS,
    hold_seconds: float = HOLD_SECONDS,
    settle_seconds: float = SETTLE_SECONDS,
    progress: bool = True,
) -> tuple[list[Plateau], Setup]:
    """Ramp through every step (the curve past a crossing shows whether it was the shared
    machine's noise or the line's limit), stopping early only after a plateau the sandbox
    could not hold (fewer than STOP_LIVE of its calls live) or one with errors on more
    than STOP_ERRORS of its webhooks."""
    from helpline.config import Settings

    options = production_gunicorn_options()
    keep = os.environ.get("HELPLINE_BENCH_KEEP")
    diagnose = ["--access-logformat", ACCESS_FORMAT] if keep else []
    plateaus: list[Plateau] = []
    with tempfile.TemporaryDirectory() as raw:
        folder = Path(os.environ.get("HELPLINE_BENCH_KEEP", raw))
        folder.mkdir(parents=True, exist_ok=True)
        flows = open_flows(Path(raw))
        env = production_environment(database_url, redis_url, folder / "instance")
        env["IVR_FLOWS_PATH"] = str(flows)
        settings = Settings.from_env(env)
        transport = TimedTransport(PUBLIC_BASE_URL)
        largest = max(steps)
        sandbox = SandboxServer(
            settings,
            port=0,
            speed=1.0,
            transport=transport,
            max_live_legs=largest + COUNSELLORS * 2 + 100,
            poll=SANDBOX_POLL,
            measure_audio=True,  # the hold music plays its 24 s, as at Twilio
        ).start()
        env["TWILIO_API_BASE_URL"] = sandbox.url
        callers = Callers(sandbox, flows)
        sampler = StackSampler().start() if os.environ.get("HELPLINE_BENCH_STACKS") else None
        try:
            put_on_duty(env, sandbox)
            with (
                gunicorn(
                    env, options=options + diagnose, stdout=folder / "access.log" if keep else None
                ) as base,
                _worker(env, folder / "worker.log") as worker,
            ):
                transport.app_base = base
                port = int(base.rsplit(":", 1)[1])
                database = sa.make_url(database_url).database or ""
                meter = CpuMeter(_listening(port), worker.pid, database)
                for target in steps:
                    callers.fill(target)
                    callers.hold(target, settle_seconds)
                    start_mark = meter.mark()
                    least, most = callers.hold(target, hold_seconds)
                    end_mark = meter.mark()
                    samples = window(transport.samples, start_mark.at, end_mark.at)
                    overall = latency(samples)
                    plateau = Plateau(
                        target=target,
                        live_min=least,
                        live_max=most,
                        seconds=end_mark.at - start_mark.at,
                        overall=overall,
                        kinds=by_kind(samples),
                        cpu=meter.between(start_mark, end_mark),
                        answered=sum(1 for s in samples if s.kind == "/voice/connect"),
                    )
                    plateaus.append(plateau)
                    if progress:
                        print(_progress(plateau), flush=True)
                    if least < STOP_LIVE * target or overall.errors > STOP_ERRORS * max(
                        1, overall.count
                    ):
                        break
                callers.hang_up_all()
        finally:
            if keep:
                _write_samples(folder / "samples.tsv", transport.samples)
            if sampler is not None:
                sampler.write(folder / "stacks.txt")
            sandbox.stop(timeout=30)
    return plateaus, Setup(options)


class StackSampler:
    """Diagnosis: every 100 ms, where each thread of this process is that is not waiting
    (the innermost frame outside threading and socket waits), counted; written at the end."""

    IDLE = ("threading.py", "selectors.py", "socket.py", "queue.py", "ssl.py")

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)

    def start(self) -> StackSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(0.1):
            for ident, frame in sys._current_frames().items():
                if ident == me or frame.f_code.co_filename.endswith(self.IDLE):
                    continue
                top = traceback.extract_stack(frame, limit=6)
                where = " < ".join(
                    f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(top)
                )
                self.counts[where] += 1

    def write(self, path: Path) -> None:
        self._stop.set()
        self._thread.join(5)
        with path.open("w", encoding="utf-8") as out:
            for where, count in self.counts.most_common(60):
                out.write(f"{count}\t{where}\n")


def _write_samples(path: Path, samples: Sequence[Sample]) -> None:
    first = samples[0].at if samples else 0.0
    with path.open("w", encoding="utf-8") as out:
        for s in samples:
            out.write(f"{s.at - first:.3f}\t{s.kind}\t{s.ms:.1f}\t{int(s.ok)}\n")


def _progress(p: Plateau) -> str:
    cpu = p.cpu
    return (
        f"capacity: {p.target} calls ({p.live_min}-{p.live_max} live): "
        f"{p.overall.count} webhooks, p50 {p.overall.p50_ms:.1f} ms, "
        f"p99 {p.overall.p99_ms:.1f} ms, {p.overall.errors} errors; CPU sandbox "
        f"{cpu.sandbox:.2f} app {cpu.app:.2f} worker {cpu.worker:.2f} db {cpu.database:.2f} "
        f"machine {cpu.machine:.2f}"
    )


def describe(setup: Setup, steps: Sequence[int], hold: float, settle: float) -> str:
    return (
        f"gunicorn with the production image's options (`{' '.join(setup.options)}`, the "
        "Dockerfile's CMD), one RQ worker process (worker.py, as docker-compose runs it), "
        "production settings, a fresh PostgreSQL database and Redis. The telephony sandbox "
        "runs in the bench's process at real speed and plays every call over HTTP with "
        "correctly signed requests; it plays audio for its real length (fetched once, not "
        "timed), as Twilio does. Each caller chooses a language, answers the remember "
        "question and chooses a topic, then waits in the queue hearing the hold loop "
        f"(`/voice/wait`, requested again after every round) and hangs up after {PATIENCE[0]} "
        f"to {PATIENCE[1]} s; {setup.counsellors} counsellors (every language and topic) "
        f"answer their phones, accept with 1 and talk {TALK_SECONDS:.0f} s, so some callers "
        "are connected (`/voice/connect`). Callers who end are replaced at once, so the IVR's "
        f"webhooks run throughout. Plateaus of {', '.join(f'{s:,}' for s in steps)} calls "
        f"(all of them unless the sandbox could not hold one): filled at {ARRIVALS_PER_SECOND:.0f} "
        f"new calls/s, held {settle:.0f} s unmeasured, then measured for {hold:.0f} s. "
        "Latency is timed at the client (the sandbox), from the request sent to the answer "
        "read, over every webhook of the window; an error is any answer but 200 with valid "
        "TwiML, or none. CPU is a share of one core for the sandbox (the bench's process), "
        "gunicorn (master and workers), the worker (with its forked jobs) and PostgreSQL "
        "(the backends serving the bench's database); machine busy counts both cores and "
        "anyone's work (Redis, other people) included."
    )
