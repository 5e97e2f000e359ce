"""A small factory for test data, through the same services the product uses."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from helpline.audit import chain as audit
from helpline.models import (
    AuditEntry,
    Call,
    CallbackRequest,
    Caller,
    CallEvent,
    ContactRecord,
    ContactRecordVersion,
    Recording,
    Referral,
    ReferralStep,
    Site,
    Staff,
    Voicemail,
    utcnow,
)
from helpline.models.base import DbSession
from helpline.models.enums import (
    CallbackReason,
    CallbackStatus,
    ContactStatus,
    ReferralStatus,
    RiskLevel,
)
from helpline.privacy import crypto as privacy
from helpline.staff import accounts as staffing

PASSWORD = "correct horse battery staple"
TEST_ACTOR = audit.Actor("tests")


class Factory:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    def site(self, code: str | None = None, province: str = "Ankara") -> Site:
        code = code or f"S{secrets.token_hex(3)}"
        site = staffing.add_site(self.session, code, f"Centre {code}", province, TEST_ACTOR)
        self.session.commit()
        return site

    def staff(
        self,
        username: str | None = None,
        roles: tuple[str, ...] = ("counsellor",),
        languages: tuple[str, ...] = ("tr",),
        topics: tuple[str, ...] = ("psychosocial",),
        phone: str | None = None,
        site: Site | None = None,
        password: str | None = PASSWORD,
        ui_language: str = "en",
    ) -> Staff:
        """A member of staff; password=None for one who never logs in (skips argon2).

        Test staff read the console (and hear their phone's prompts) in English unless a
        test names another language.
        """
        spec = staffing.StaffSpec(
            username=username or f"user{secrets.token_hex(3)}",
            display_name="Test Person",
            roles=roles,
            languages=languages,
            topics=topics,
            site_code=site.code if site else None,
            phone=phone,
            password=password,
            ui_language=ui_language,
        )
        staff = staffing.add_staff(self.session, spec, TEST_ACTOR)
        self.session.commit()
        return staff

    def caller(self, number: str, language: str | None = None) -> Caller:
        e164 = privacy.normalise_number(number)
        caller = Caller(
            number_index=privacy.keyring().blind_index(e164),
            number_encrypted=e164,
            preferred_language=language,
        )
        self.session.add(caller)
        self.session.commit()
        return caller

    def call(self, caller: Caller | None = None, **fields: Any) -> Call:
        call = Call(call_sid="CA" + secrets.token_hex(16), caller=caller, **fields)
        self.session.add(call)
        self.session.commit()
        return call

    def calls(self, specs: Sequence[dict[str, Any]]) -> list[Call]:
        """Many calls in one transaction (each spec gives a call's fields)."""
        made = [Call(call_sid="CA" + secrets.token_hex(16), **spec) for spec in specs]
        self.session.add_all(made)
        self.session.commit()
        return made

    def events(self, call: Call, *timeline: tuple[str, str, dict[str, Any]]) -> list[CallEvent]:
        """Append (kind, source, data) events to a call's timeline, a second apart."""
        start = call.started_at
        made = [
            CallEvent(
                call_id=call.id,
                kind=kind,
                source=source,
                data=data,
                occurred_at=start + dt.timedelta(seconds=number),
            )
            for number, (kind, source, data) in enumerate(timeline)
        ]
        self.session.add_all(made)
        self.session.commit()
        return made

    def contact_record(
        self,
        call: Call,
        counsellor: Staff,
        summaries: Sequence[str],
        risk: str = RiskLevel.NONE,
        referral: str | None = None,
    ) -> ContactRecord:
        """A record for the call, saved once per summary (each save is a version)."""
        record = ContactRecord(
            call_id=call.id,
            caller_id=call.caller_id,
            counsellor_id=counsellor.id,
            categories=["psychosocial.anxiety"],
            risk_level=risk,
            version=0,
        )
        if referral is not None:
            record.referrals.append(Referral(kind=referral, province="Ankara"))
        self.session.add(record)
        self.session.flush()
        for summary in summaries:
            record.version += 1
            record.summary_encrypted = summary
            record.updated_at = utcnow()
            self.session.add(
                ContactRecordVersion(
                    contact_record_id=record.id,
                    version=record.version,
                    edited_by_id=counsellor.id,
                    status=ContactStatus.DRAFT,
                    call_type=record.call_type,
                    categories=list(record.categories),
                    summary_encrypted=summary,
                    risk_level=risk,
                    is_safety_plan_made=False,
                )
            )
        self.session.commit()
        return record

    def referral(
        self,
        record: ContactRecord,
        kind: str = "social_service_centre",
        province: str | None = "Gaziantep",
        destination: str | None = "Şahinbey Sosyal Hizmet Merkezi",
        at: dt.datetime | None = None,
        act_within_days: int = 5,
    ) -> Referral:
        """A referral proposed on a record, as finalising the record proposes it (the record
        is made final)."""
        moment = at or utcnow()
        record.status = ContactStatus.FINAL
        record.finalised_at = record.finalised_at or moment
        referral = Referral(
            kind=kind,
            province=province,
            destination=destination,
            status=ReferralStatus.PROPOSED,
            created_at=moment,
            status_at=moment,
            due_at=moment + dt.timedelta(days=act_within_days),
        )
        referral.steps.append(
            ReferralStep(status=ReferralStatus.PROPOSED, at=moment, by_id=record.counsellor_id)
        )
        record.referrals.append(referral)
        self.session.commit()
        return referral

    def callback(
        self,
        call: Call,
        status: str = CallbackStatus.PENDING,
        created_at: dt.datetime | None = None,
        completed_at: dt.datetime | None = None,
    ) -> CallbackRequest:
        created = created_at or utcnow()
        assert call.caller_id is not None, "a callback needs a caller"
        request = CallbackRequest(
            caller_id=call.caller_id,
            call_id=call.id,
            reason=CallbackReason.QUEUE_KEY,
            language=call.language or "tr",
            status=status,
            created_at=created,
            due_from=created,
            next_attempt_at=created,
            expires_at=created + dt.timedelta(days=3),
            completed_at=completed_at,
        )
        self.session.add(request)
        self.session.commit()
        return request

    def recording(self, call: Call, kind: str = "call") -> Recording:
        recording = Recording(
            call_id=call.id,
            recording_sid="RE" + secrets.token_hex(16),
            url="https://api.twilio.com/recordings/RE" + secrets.token_hex(4),
            kind=kind,
            duration_seconds=42,
        )
        self.session.add(recording)
        self.session.commit()
        return recording

    def audit_entries(self, action: str) -> list[AuditEntry]:
        """The audit log's entries of this action, oldest first (read afresh)."""
        self.session.expire_all()
        query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        return list(self.session.scalars(query))

    def voicemail(
        self,
        call: Call,
        language: str = "tr",
        *,
        urgent: bool = False,
        consented: bool = True,
        created_at: dt.datetime | None = None,
        callback: CallbackRequest | None = None,
    ) -> Voicemail:
        """A message left on the call, as the recording callback files it."""
        created = created_at or utcnow()
        message = Voicemail(
            recording=self.recording(call, kind="voicemail"),
            call_id=call.id,
            language=language,
            is_urgent=urgent,
            consented_at=created if consented else None,
            created_at=created,
            callback_request_id=callback.id if callback is not None else None,
        )
        self.session.add(message)
        self.session.commit()
        return message


_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no CSRF token in the page")
    return match.group(1) or match.group(2)


def login(
    client: FlaskClient, username: str, password: str = PASSWORD, **environ: Any
) -> TestResponse:
    page = client.get("/login", environ_overrides=environ or None)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_overrides=environ or None,
    )


def post_form(
    client: FlaskClient, page_url: str, action: str, data: dict[str, Any] | None = None
) -> TestResponse:
    """Submit a form the way a browser does: take the CSRF token from the page first."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={**(data or {}), "csrf_token": token})
