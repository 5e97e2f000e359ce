"""Closed vocabularies stored as short strings.

Stored as VARCHAR rather than database enums, so adding a value needs no migration of a
type; the application validates against these classes.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    COUNSELLOR = "counsellor"
    INTERPRETER = "interpreter"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # Belongs to one Social Service Centre (staff.site_id): sees only the referrals sent
    # to it, and takes the centre's steps on them (docs/referrals.md).
    SSC_FOCAL_POINT = "ssc_focal_point"
    # Reads the programme report (aggregates, suppressed) and nothing else: no call log,
    # no records, no cases (docs/programme-report.md).
    PROGRAMME_OFFICER = "programme_officer"


class PresenceState(enum.StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    WRAP_UP = "wrap_up"
    BREAK = "break"
    OFFLINE = "offline"


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallOutcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    ABANDONED_IVR = "abandoned_ivr"
    ABANDONED_QUEUE = "abandoned_queue"
    CALLBACK_REQUESTED = "callback_requested"
    VOICEMAIL = "voicemail"
    EMERGENCY_TRANSFER = "emergency_transfer"
    OUT_OF_HOURS = "out_of_hours"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    BLOCKED = "blocked"  # the number was on the block list


class CallEventKind(enum.StrEnum):
    CALL_STARTED = "call_started"
    STATUS_CALLBACK = "status_callback"
    IVR_STEP = "ivr_step"
    PROMPT_PLAYED = "prompt_played"
    KEY_PRESSED = "key_pressed"
    INPUT_TIMEOUT = "input_timeout"
    INPUT_INVALID = "input_invalid"
    BRANCH = "branch"
    HOURS_CHECKED = "hours_checked"
    OUT_OF_SEQUENCE = "out_of_sequence"
    FALLBACK = "fallback"
    DIAL_RESULT = "dial_result"
    LANGUAGE_SELECTED = "language_selected"
    TOPIC_SELECTED = "topic_selected"
    AGE_GROUP_SELECTED = "age_group_selected"
    CONSENT_RECORDED = "consent_recorded"
    EMERGENCY_TRANSFER = "emergency_transfer"
    QUEUED = "queued"
    QUEUE_RESULT = "queue_result"
    QUEUE_LEAVE = "queue_leave"
    CALLBACK_ASKED = "callback_asked"
    ANNOUNCEMENT = "announcement"
    RESERVED = "reserved"
    OFFERED = "offered"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    OFFER_TIMEOUT = "offer_timeout"
    OFFER_FAILED = "offer_failed"
    CONNECTED = "connected"
    REQUEUED = "requeued"
    ROOM_EVENT = "room_event"
    ROOM_ENDED = "room_ended"
    STAFF_JOINED = "staff_joined"
    INTERPRETER_JOINED = "interpreter_joined"
    PARTICIPANT_LEFT = "participant_left"
    TRANSFERRED = "transferred"
    HOLD = "hold"
    UNHOLD = "unhold"
    ENDED_BY_STAFF = "ended_by_staff"
    SUPERVISOR_LISTEN = "supervisor_listen"
    SUPERVISOR_COACH = "supervisor_coach"
    ESCALATED = "escalated"  # the counsellor asked the duty supervisor to join
    CALLBACK_REQUESTED = "callback_requested"
    VOICEMAIL_RECORDED = "voicemail_recorded"
    RECORDING_READY = "recording_ready"
    CALLBACK_ATTEMPT = "callback_attempt"
    CALLBACK_OUTCOME = "callback_outcome"
    ABANDONED = "abandoned"
    ENDED = "ended"
    BLOCKED = "blocked"
    # The emergency path after the duty line did not answer: the caller waits at the front
    # of the queue for any counsellor, and the duty supervisor is alerted.
    EMERGENCY_QUEUED = "emergency_queued"
    # A voicemail flagged urgent was filed (data: recording_id); the duty supervisor is alerted.
    URGENT_VOICEMAIL = "urgent_voicemail"
    # Written late: the webhook came while the database was unreachable, was journalled
    # (helpline/journal) and replayed (data: webhook, received_at).
    JOURNALLED = "journalled"


class EventSource(enum.StrEnum):
    TWILIO = "twilio"
    IVR = "ivr"
    ROUTER = "router"
    CONSOLE = "console"
    WORKER = "worker"
    SYSTEM = "system"


class ConsentKind(enum.StrEnum):
    REMEMBER_LANGUAGE = "remember_language"
    CALLBACK = "callback"
    RECORDING = "recording"
    FOLLOW_UP = "follow_up"
    # A person profile kept from the caller's answers (helpline/cases/persons.py); recorded
    # per person (PersonConsent), since one number may be a family's.
    PROFILE = "profile"


class ContactType(enum.StrEnum):
    """A data contact, or one of the non-data kinds a line logs but does not counsel."""

    DATA = "data"
    SILENT = "silent"
    HANG_UP = "hang_up"
    ABUSIVE = "abusive"
    WRONG_NUMBER = "wrong_number"
    INFORMATION_ONLY = "information_only"


class RiskLevel(enum.StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    IMMINENT = "imminent"


class ContactStatus(enum.StrEnum):
    DRAFT = "draft"
    FINAL = "final"


class ReferralKind(enum.StrEnum):
    SOCIAL_SERVICE_CENTRE = "social_service_centre"
    VIOLENCE_PREVENTION_CENTRE = "violence_prevention_centre"
    CHILD_PROTECTION = "child_protection"
    HEALTH = "health"
    EDUCATION = "education"
    SOCIAL_ASSISTANCE = "social_assistance"
    POLICE = "police"
    EMERGENCY_112 = "emergency_112"


class ReferralStatus(enum.StrEnum):
    """The closed loop of a referral (helpline/referrals/states.py has the transitions)."""

    PROPOSED = "proposed"
    CONSENTED = "consented"  # the person agreed that their data be shared
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SERVICE_PROVIDED = "service_provided"
    CLOSED = "closed"


class ContactPreference(enum.StrEnum):
    """When the person agreed to be called by the centre a referral is sent to."""

    ANY_TIME = "any_time"
    MORNINGS = "mornings"
    AFTERNOONS = "afternoons"
    EVENINGS = "evenings"


class CallbackReason(enum.StrEnum):
    QUEUE_KEY = "queue_key"
    OUT_OF_HOURS = "out_of_hours"
    VOICEMAIL = "voicemail"
    ABANDONED = "abandoned"
    FOLLOW_UP = "follow_up"
    NOT_SAFE_NOW = "not_safe_now"


class CallbackStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DIALLING = "dialling"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class CallbackOutcome(enum.StrEnum):
    CONNECTED = "connected"
    REQUEUED = "requeued"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    NOT_SAFE_NOW = "not_safe_now"
    MACHINE = "machine"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class CaseStatus(enum.StrEnum):
    """A case's state; `cases.cases.TRANSITIONS` lists the allowed moves."""

    OPEN = "open"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CLOSED = "closed"
    REOPENED = "reopened"


class ClosureReason(enum.StrEnum):
    GOALS_MET = "goals_met"
    REFERRED_ON = "referred_on"
    NO_CONTACT = "no_contact"
    MOVED_AWAY = "moved_away"
    DECLINED_SERVICES = "declined_services"
    DUPLICATE = "duplicate"
    DECEASED = "deceased"
    OTHER = "other"


class CaseNeed(enum.StrEnum):
    """What a case works on (the needs assessment's categories)."""

    PSYCHOSOCIAL = "psychosocial"
    PROTECTION = "protection"
    CHILD_PROTECTION = "child_protection"
    GENDER_BASED_VIOLENCE = "gender_based_violence"
    HEALTH = "health"
    MENTAL_HEALTH = "mental_health"
    DISABILITY = "disability"
    LEGAL_DOCUMENTATION = "legal_documentation"
    SHELTER = "shelter"
    FOOD = "food"
    LIVELIHOOD = "livelihood"
    EDUCATION = "education"
    SOCIAL_ASSISTANCE = "social_assistance"
    OTHER = "other"


class Relationship(enum.StrEnum):
    """How a person linked to a case stands to the case's person."""

    CHILD = "child"
    SPOUSE = "spouse"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    CAREGIVER = "caregiver"
    OTHER = "other"


class GoalStatus(enum.StrEnum):
    OPEN = "open"
    ACHIEVED = "achieved"
    DROPPED = "dropped"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class PlanChangeKind(enum.StrEnum):
    GOAL_ADDED = "goal_added"
    GOAL_ACHIEVED = "goal_achieved"
    GOAL_DROPPED = "goal_dropped"
    ACTION_ADDED = "action_added"
    ACTION_RESCHEDULED = "action_rescheduled"
    ACTION_DONE = "action_done"
    ACTION_CANCELLED = "action_cancelled"


class WellbeingOccasion(enum.StrEnum):
    INTAKE = "intake"
    FOLLOW_UP = "follow_up"
    CLOSURE = "closure"


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class AgeGroup(enum.StrEnum):
    """A person's age when they give no year of birth (as in the line's reports)."""

    UNDER_12 = "0_11"
    FROM_12_TO_17 = "12_17"
    FROM_18_TO_25 = "18_25"
    FROM_26_TO_59 = "26_59"
    FROM_60 = "60_plus"


class LegalStatus(enum.StrEnum):
    TEMPORARY_PROTECTION = "temporary_protection"
    INTERNATIONAL_PROTECTION = "international_protection"
    RESIDENCE_PERMIT = "residence_permit"
    CITIZEN = "citizen"
    NONE = "none"
    UNKNOWN = "unknown"


class Difficulty(enum.StrEnum):
    """An answer to one Washington Group short-set question."""

    NO_DIFFICULTY = "no_difficulty"
    SOME_DIFFICULTY = "some_difficulty"
    A_LOT_OF_DIFFICULTY = "a_lot_of_difficulty"
    CANNOT_DO_AT_ALL = "cannot_do_at_all"


def values(kind: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in kind]
