"""Typed SQLAlchemy 2.0 models, by domain. Importing this package registers every table."""

from helpline.models.alerts import AlertState
from helpline.models.audit import AuditEntry, AuditHead
from helpline.models.base import Base, EncryptedText, UTCDateTime, utcnow
from helpline.models.blocklist import BlockedNumber
from helpline.models.callbacks import CallbackRequest
from helpline.models.calls import Call, Caller, CallerConsent, CallEvent, Recording
from helpline.models.cases import (
    Case,
    CaseAction,
    CaseAssignment,
    CaseGoal,
    CaseNote,
    CasePerson,
    CasePlanChange,
    CaseRisk,
    CaseStatusChange,
    WellbeingMeasure,
)
from helpline.models.contacts import ContactRecord, ContactRecordVersion, Referral, ReferralStep
from helpline.models.ivr import FlowVersion
from helpline.models.journal import JournalReplay
from helpline.models.persons import Person, PersonConsent, PersonNumber
from helpline.models.reports import ProgrammeReport
from helpline.models.retention import DestructionLog
from helpline.models.staff import (
    LoginSession,
    PresenceChange,
    Site,
    Staff,
    StaffLanguage,
    StaffRole,
    StaffTopic,
)
from helpline.models.voicemail import Voicemail

__all__ = [
    "AlertState",
    "AuditEntry",
    "AuditHead",
    "Base",
    "BlockedNumber",
    "Call",
    "CallEvent",
    "CallbackRequest",
    "Caller",
    "CallerConsent",
    "Case",
    "CaseAction",
    "CaseAssignment",
    "CaseGoal",
    "CaseNote",
    "CasePerson",
    "CasePlanChange",
    "CaseRisk",
    "CaseStatusChange",
    "ContactRecord",
    "ContactRecordVersion",
    "DestructionLog",
    "EncryptedText",
    "FlowVersion",
    "JournalReplay",
    "LoginSession",
    "Person",
    "PersonConsent",
    "PersonNumber",
    "PresenceChange",
    "ProgrammeReport",
    "Recording",
    "Referral",
    "ReferralStep",
    "Site",
    "Staff",
    "StaffLanguage",
    "StaffRole",
    "StaffTopic",
    "UTCDateTime",
    "Voicemail",
    "WellbeingMeasure",
    "utcnow",
]
