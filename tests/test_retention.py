"""Retention: periods from a data file, a dry-run preview, the purge and its log."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from helpline.audit import chain as audit
from helpline.cli import main
from helpline.config import DEFAULT_DATA_PATH, Settings
from helpline.models import (
    AuditEntry,
    AuditHead,
    Caller,
    ContactRecord,
    ContactRecordVersion,
    DestructionLog,
    Recording,
    utcnow,
)
from helpline.models.enums import CallbackStatus
from helpline.privacy import retention
from tests.cli_env import use_settings
from tests.factories import Factory, login, post_form

POLICY = retention.Policy(
    periods={
        "recordings": 90,
        "notes": 365,
        "referral_notes": 365,
        "caller_numbers": 180,
        "cases": 730,
        "persons": 730,
        "audit": 400,
    },
    purge_every_days=30,
    destruction_log_days=1095,
)
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ACTOR = audit.Actor("tests")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / retention.FILE
    path.write_text(text, encoding="utf-8")
    return path


def test_load_policy_reads_the_shipped_file() -> None:
    """data/retention.yaml names every kind, purges at least every six months and keeps
    the destruction log three years."""
    policy = retention.load_policy(DEFAULT_DATA_PATH / retention.FILE)
    assert set(policy.periods) == set(retention.KINDS)
    assert policy.purge_every_days <= retention.MAX_PURGE_INTERVAL_DAYS
    assert policy.destruction_log_days >= 3 * 365


GOOD = """schema: 1
periods: {recordings: 90, notes: 365, referral_notes: 365, caller_numbers: 180,
          cases: 730, persons: 730, audit: 400}
purge_every_days: 30
destruction_log_days: 1095
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("purge_every_days: 30", "purge_every_days: 200"), r":4: `purge_every_days:` .* 183"),
        (("destruction_log_days: 1095", "destruction_log_days: 365"), r":5: .* >= 1095"),
        (("audit: 400}", "audit: 0}"), r":3: `audit:` must be whole days >= 1"),
        ((", audit: 400}", "}"), r"missing: audit"),
        (("audit: 400}", "audit: 400, emails: 3}"), r"unknown: emails"),
        (("schema: 1", "schema: 2"), r":1: expected `schema: 1`"),
        (("purge_every_days: 30", "purge_every: 30"), r"unknown key\(s\): purge_every"),
    ],
)
def test_load_policy_names_the_problem_and_line(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    """A broken retention.yaml is refused with its file, line and the rule it breaks."""
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(retention.RetentionError, match=message):
        retention.load_policy(path)


def test_kept_days_names_every_row_of_the_preview() -> None:
    """The preview's audio-at-the-provider row is kept as long as recordings, the log's
    own rows as long as the log."""
    kept = retention.kept_days(POLICY)
    assert kept[retention.PROVIDER_KIND] == 90
    assert kept[retention.LOG_KIND] == 1095


def test_cutoffs_and_next_due() -> None:
    """Each kind is past due before now minus its period; the next purge is an interval
    after the last, or now when it is overdue or never ran."""
    cut = retention.cutoffs(POLICY, NOW)
    assert cut["recordings"] == NOW - 90 * DAY
    assert cut[retention.LOG_KIND] == NOW - 1095 * DAY
    assert retention.next_due(POLICY, None, NOW) == NOW
    assert retention.next_due(POLICY, NOW - 10 * DAY, NOW) == NOW + 20 * DAY
    assert retention.next_due(POLICY, NOW - 40 * DAY, NOW) == NOW


def test_invalid_retention_file_stops_the_app_and_fails_check(
    tmp_path: Path, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app refuses to start on a broken retention.yaml; `helpline check` names it."""
    from helpline import create_app
    from helpline.config import ConfigError
    from tests.conftest import make_settings

    root = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_PATH, root)
    _write(root, GOOD.replace("purge_every_days: 30", "purge_every_days: 365"))
    settings = make_settings(database_url, redis_url, tmp_path / "i", HELPLINE_DATA_PATH=str(root))
    with pytest.raises(ConfigError, match=r"retention\.yaml:4"):
        create_app(settings)
    use_settings(monkeypatch, settings, HELPLINE_DATA_PATH=str(root))
    result = CliRunner().invoke(main, ["check", "--no-connect"])
    assert result.exit_code == 1
    assert "retention.yaml:4: `purge_every_days:`" in result.output


def _old_and_new(factory: Factory) -> dict[str, int]:
    """One item of each kind past its period and one within it."""
    counsellor = factory.staff("ayse", password=None)
    old_caller = factory.caller("+905321110001")
    new_caller = factory.caller("+905321110002")
    kept_caller = factory.caller("+905321110003")  # old, but a callback is still pending
    for caller, seen in ((old_caller, 200), (new_caller, 10), (kept_caller, 200)):
        caller.last_seen_at = NOW - seen * DAY
    factory.session.commit()
    old_call = factory.call(old_caller, started_at=NOW - 400 * DAY)
    new_call = factory.call(new_caller, started_at=NOW - 10 * DAY)
    kept_call = factory.call(kept_caller, started_at=NOW - 200 * DAY)
    factory.callback(kept_call, status=CallbackStatus.PENDING)
    old_recording = factory.recording(old_call)
    new_recording = factory.recording(new_call)
    old_recording.created_at = NOW - 100 * DAY
    new_recording.created_at = NOW - 5 * DAY
    old_record = factory.contact_record(old_call, counsellor, ["first", "second"])
    new_record = factory.contact_record(new_call, counsellor, ["recent"])
    old_record.created_at = NOW - 400 * DAY
    new_record.created_at = NOW - 10 * DAY
    factory.session.commit()
    return {
        "old_caller": old_caller.id,
        "new_caller": new_caller.id,
        "kept_caller": kept_caller.id,
        "old_recording": old_recording.id,
        "new_recording": new_recording.id,
        "old_record": old_record.id,
        "new_record": new_record.id,
    }


def _fill_audit(factory: Factory, monkeypatch: pytest.MonkeyPatch, ages: list[int]) -> None:
    """Audit entries written `age` days before NOW (the clock is the boundary)."""
    for age in ages:
        monkeypatch.setattr(audit, "utcnow", lambda age=age: NOW - age * DAY)
        audit.record(factory.session, "test_action", ACTOR, details={"age": age})
    monkeypatch.setattr(audit, "utcnow", utcnow)
    factory.session.commit()


def test_preview_counts_without_destroying(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run counts what is past due, kind by kind, and changes nothing."""
    _fill_audit(factory, monkeypatch, [500, 450, 10])
    ids = _old_and_new(factory)
    counted = {due.kind: due.count for due in retention.preview(factory.session, POLICY, NOW)}
    assert counted == {
        "recordings": 1,
        "notes": 1,
        "referral_notes": 0,
        "caller_numbers": 1,
        "cases": 0,
        "persons": 0,
        "audit": 2,
        retention.LOG_KIND: 0,
        retention.PROVIDER_KIND: 1,
    }
    factory.session.expire_all()
    assert factory.session.get(Recording, ids["old_recording"]).purged_at is None  # type: ignore[union-attr]
    assert (
        factory.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 4
    )  # 3 and staff_created


def test_purge_destroys_each_kind_and_logs_it(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past-due recordings lose their reference, notes their text in every version,
    callers their number (unless a callback is pending); what is within its period stays;
    each kind gets a destruction-log row and the run an audit entry; a second run finds
    nothing."""
    ids = _old_and_new(factory)
    run = retention.purge(factory.session, POLICY, NOW, ACTOR)
    factory.session.commit()
    factory.session.expire_all()
    s = factory.session
    old_recording = s.get(Recording, ids["old_recording"])
    assert old_recording is not None
    assert old_recording.url == ""
    assert old_recording.purged_at
    assert s.get(Recording, ids["new_recording"]).purged_at is None  # type: ignore[union-attr]
    assert s.get(ContactRecord, ids["old_record"]).summary_encrypted is None  # type: ignore[union-attr]
    old_versions = s.scalars(
        sa.select(ContactRecordVersion.summary_encrypted).where(
            ContactRecordVersion.contact_record_id == ids["old_record"]
        )
    ).all()
    assert old_versions == [None, None]
    assert s.get(ContactRecord, ids["new_record"]).summary_encrypted == "recent"  # type: ignore[union-attr]
    old_caller = s.get(Caller, ids["old_caller"])
    assert old_caller is not None
    assert (old_caller.number_encrypted, old_caller.number_index) == (
        "",
        f"purged:{ids['old_caller']}",
    )
    assert s.get(Caller, ids["new_caller"]).number_encrypted == "+905321110002"  # type: ignore[union-attr]
    assert s.get(Caller, ids["kept_caller"]).number_encrypted == "+905321110003"  # type: ignore[union-attr]
    logged = {row.kind: row.count for row in s.scalars(sa.select(DestructionLog))}
    assert logged == {
        "recordings": 1,
        "notes": 1,
        "referral_notes": 0,
        "caller_numbers": 1,
        "cases": 0,
        "persons": 0,
        "audit": 0,
        retention.LOG_KIND: 0,
    }
    entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "data_destroyed")).one()
    assert entry.target_id == run.run_id
    assert entry.details["recordings"] == 1
    again = retention.purge(s, POLICY, NOW, ACTOR)
    assert again.total == 0


def test_purge_of_audit_keeps_the_chain_verifiable(
    factory: Factory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit entries past retention go as a prefix of the chain; an `audit_purged` entry
    names the last one destroyed, the head keeps it as the anchor, and `helpline audit
    verify` still passes. Entries after the anchor stay undeletable."""
    _fill_audit(factory, monkeypatch, [600, 500, 450, 300, 10])
    retention.purge(factory.session, POLICY, NOW, ACTOR)
    factory.session.commit()
    seqs = factory.session.scalars(sa.select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert seqs[0] == 4  # seq 1 to 3 (older than 400 days) destroyed
    head = factory.session.get(AuditHead, 1)
    assert head is not None
    assert head.purged_through == 3
    purged = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == audit.PURGED)
    ).one()
    assert purged.details["through_seq"] == 3
    assert audit.verify(factory.session).is_intact
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        factory.session.execute(sa.text("DELETE FROM audit_entry WHERE seq = 4"))
    factory.session.rollback()
    log_row = factory.session.scalars(
        sa.select(DestructionLog).where(DestructionLog.kind == "audit")
    ).one()
    assert (log_row.count, log_row.details) == (3, {"from_seq": 1, "through_seq": 3})


def test_verify_names_a_purge_anchor_moved_by_hand(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moving the head's anchor forward to hide entries, without a matching
    `audit_purged` entry, is reported."""
    _fill_audit(factory, monkeypatch, [600, 10, 5])
    retention.purge(factory.session, POLICY, NOW, ACTOR)
    factory.session.commit()
    head = factory.session.get(AuditHead, 1)
    assert head is not None
    second = factory.session.scalars(sa.select(AuditEntry).where(AuditEntry.seq == 2)).one()
    head.purged_through, head.purged_through_hash = 2, second.entry_hash
    factory.session.commit()
    problems = [str(p) for p in audit.verify(factory.session).problems]
    assert any("purge anchor matches no audit_purged entry" in p for p in problems)


def test_old_destruction_log_rows_are_destroyed_after_their_period(factory: Factory) -> None:
    """The log itself is kept `destruction_log_days`, then goes (and that is logged)."""
    old = retention.purge(factory.session, POLICY, NOW - 1100 * DAY, ACTOR)
    factory.session.commit()
    retention.purge(factory.session, POLICY, NOW, ACTOR)
    factory.session.commit()
    runs = set(factory.session.scalars(sa.select(DestructionLog.run_id)))
    assert old.run_id not in runs
    row = factory.session.scalars(
        sa.select(DestructionLog).where(DestructionLog.kind == retention.LOG_KIND)
    ).one()
    assert row.count == len(retention.KINDS) + 1


def test_purge_job_runs_and_schedules_the_next(app: Flask, factory: Factory) -> None:
    """The job purges, commits, and schedules the next run an interval later; a worker
    starting finds it and schedules no other."""
    from helpline.extensions import get_queue
    from helpline.tasks import retention as jobs

    with app.app_context():
        assert jobs.ensure_purge_scheduled() is not None  # never ran: due now
        assert len(jobs.pending_purges()) == 1
        assert jobs.ensure_purge_scheduled() is None
        for job_id in jobs.pending_purges():  # as if a worker had taken it
            get_queue("maintenance").remove(job_id)
        jobs.purge_retention()
        waiting = jobs.pending_purges()
        assert len(waiting) == 1
        when = jobs.scheduled_at(waiting[0])
        days = jobs.policy().purge_every_days
        assert when is not None
        assert dt.timedelta(days=days - 1) < when - utcnow() <= dt.timedelta(days=days)
        assert jobs.ensure_purge_scheduled() is None
    kinds = set(factory.session.scalars(sa.select(DestructionLog.kind)))
    assert kinds == {*retention.KINDS, retention.LOG_KIND, retention.PROVIDER_KIND}


def test_retention_page_previews_and_queues_a_purge(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    """The page shows the periods and the dry run; "Purge now" queues the job and is
    audited; counsellors are refused."""
    from helpline.tasks import retention as jobs

    factory.staff("sup", roles=("supervisor",))
    factory.staff("ayse")
    counsellor = app.test_client()
    login(counsellor, "ayse")
    assert counsellor.get("/supervisor/retention").status_code == 403
    login(client, "sup")
    page = client.get("/supervisor/retention")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Dry run" in text
    assert 'data-kind="caller_numbers"' in text
    assert "No purge has run yet." in text
    response = post_form(client, "/supervisor/retention", "/supervisor/retention/purge")
    assert response.status_code == 302
    with app.app_context():
        assert len(jobs.pending_purges()) == 1
    actions = factory.session.scalars(sa.select(AuditEntry.action)).all()
    assert "retention_purge_requested" in actions


def test_audit_purge_stops_at_the_first_entry_within_its_period(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a prefix of the chain goes: an old entry after a recent one (a clock set
    back) waits until everything before it is past due too."""
    _fill_audit(factory, monkeypatch, [600, 10, 500])
    counted = {due.kind: due.count for due in retention.preview(factory.session, POLICY, NOW)}
    assert counted["audit"] == 1


def test_purge_job_deletes_recordings_at_the_provider(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """After the purge, the job asks the provider (the sandbox's REST API, through the
    official client) to delete each destroyed recording's audio and marks those it
    confirms; one the provider no longer holds counts as deleted; a recording within its
    period stays at the provider."""
    from sqlalchemy.orm import Session

    from helpline import create_app
    from helpline.config import Settings
    from helpline.extensions import db
    from helpline.sandbox.emulator.server import SandboxServer
    from helpline.sandbox.recording import Recording as HeldRecording
    from helpline.tasks import retention as jobs
    from tests.conftest import _empty_tables, make_settings

    account, token = "AC" + "5" * 32, "t" * 32
    sandbox = SandboxServer(
        Settings.from_env(
            {
                "HELPLINE_ENV": "test",
                "HELPLINE_INSTANCE_PATH": str(tmp_path / "sandbox"),
                "TWILIO_ACCOUNT_SID": account,
                "TWILIO_AUTH_TOKEN": token,
            }
        ),
        port=0,
    ).start()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "i",
        TWILIO_ACCOUNT_SID=account,
        TWILIO_AUTH_TOKEN=token,
        TWILIO_API_BASE_URL=sandbox.url,
    )
    app = create_app(settings, {"TESTING": True})
    try:
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            call = factory.call(started_at=utcnow() - 100 * DAY)
            old, gone, recent = (factory.recording(call) for _ in range(3))
            old.created_at = gone.created_at = utcnow() - 200 * DAY
            session.commit()
            for held in (old, recent):
                sandbox.exchange.recordings[held.recording_sid] = HeldRecording(
                    sid=held.recording_sid,
                    account_sid=account,
                    call_sid=call.call_sid,
                    url=f"{sandbox.url}/recording",
                    duration=4,
                    started=utcnow(),
                    source="DialVerb",
                )
            jobs.purge_retention()
            session.expire_all()
            assert set(sandbox.exchange.recordings) == {recent.recording_sid}
            marked = {
                r.recording_sid: r.provider_deleted_at
                for r in session.scalars(sa.select(Recording))
            }
            assert marked[old.recording_sid] is not None
            assert marked[gone.recording_sid] is not None
            assert marked[recent.recording_sid] is None
            row = session.scalars(
                sa.select(DestructionLog).where(DestructionLog.kind == retention.PROVIDER_KIND)
            ).one()
            assert (row.count, row.details) == (2, {})
            assert jobs.delete_at_provider("again", utcnow()) == 0
            session.close()
    finally:
        sandbox.stop()
        _empty_tables(app)


def test_retention_command_previews_and_purges(
    factory: Factory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`helpline retention preview` counts without destroying; `helpline retention purge`
    destroys, logs the run and audits it as the operator."""
    caller = factory.caller("+905321110055")
    caller.last_seen_at = utcnow() - 400 * DAY
    factory.session.commit()
    use_settings(monkeypatch, settings)
    preview = CliRunner().invoke(main, ["retention", "preview"])
    assert preview.exit_code == 0, preview.output
    assert "Caller phone numbers: 1 older than" in preview.output
    factory.session.expire_all()
    assert factory.session.get(Caller, caller.id).number_encrypted == "+905321110055"  # type: ignore[union-attr]
    purged = CliRunner().invoke(main, ["retention", "purge"])
    assert purged.exit_code == 0, purged.output
    assert "Caller phone numbers: 1 destroyed" in purged.output
    factory.session.expire_all()
    assert factory.session.get(Caller, caller.id).number_encrypted == ""  # type: ignore[union-attr]
    entry = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "data_destroyed")
    ).one()
    assert entry.actor_label.startswith("cli:")
