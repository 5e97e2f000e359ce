"""The words the case pages show for the cases domain's codes (statuses, reasons, needs,
relationships, the plan, the profile's answers), translated (console and supervisor)."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString

from helpline.models.enums import (
    ActionStatus,
    AgeGroup,
    CallbackStatus,
    CallDirection,
    CallOutcome,
    CaseNeed,
    CaseStatus,
    ClosureReason,
    ContactStatus,
    Difficulty,
    Gender,
    GoalStatus,
    LegalStatus,
    PlanChangeKind,
    Relationship,
    WellbeingOccasion,
)

Labels = dict[str, LazyString]

STATUSES: Labels = {
    CaseStatus.OPEN.value: lazy_gettext("Open"),
    CaseStatus.ACTIVE.value: lazy_gettext("Active"),
    CaseStatus.ON_HOLD.value: lazy_gettext("On hold"),
    CaseStatus.CLOSED.value: lazy_gettext("Closed"),
    CaseStatus.REOPENED.value: lazy_gettext("Reopened"),
}
REASONS: Labels = {
    ClosureReason.GOALS_MET.value: lazy_gettext("Goals met"),
    ClosureReason.REFERRED_ON.value: lazy_gettext("Referred on"),
    ClosureReason.NO_CONTACT.value: lazy_gettext("No contact"),
    ClosureReason.MOVED_AWAY.value: lazy_gettext("Moved away"),
    ClosureReason.DECLINED_SERVICES.value: lazy_gettext("Declined services"),
    ClosureReason.DUPLICATE.value: lazy_gettext("Duplicate"),
    ClosureReason.DECEASED.value: lazy_gettext("Deceased"),
    ClosureReason.OTHER.value: lazy_gettext("Other reason"),
}
NEEDS: Labels = {
    CaseNeed.PSYCHOSOCIAL.value: lazy_gettext("Psychosocial support"),
    CaseNeed.PROTECTION.value: lazy_gettext("Protection"),
    CaseNeed.CHILD_PROTECTION.value: lazy_gettext("Child protection"),
    CaseNeed.GENDER_BASED_VIOLENCE.value: lazy_gettext("Gender-based violence"),
    CaseNeed.HEALTH.value: lazy_gettext("Health"),
    CaseNeed.MENTAL_HEALTH.value: lazy_gettext("Mental health"),
    CaseNeed.DISABILITY.value: lazy_gettext("Disability"),
    CaseNeed.LEGAL_DOCUMENTATION.value: lazy_gettext("Legal documentation"),
    CaseNeed.SHELTER.value: lazy_gettext("Shelter"),
    CaseNeed.FOOD.value: lazy_gettext("Food"),
    CaseNeed.LIVELIHOOD.value: lazy_gettext("Livelihood"),
    CaseNeed.EDUCATION.value: lazy_gettext("Education"),
    CaseNeed.SOCIAL_ASSISTANCE.value: lazy_gettext("Social assistance"),
    CaseNeed.OTHER.value: lazy_gettext("Other need"),
}
RELATIONSHIPS: Labels = {
    Relationship.CHILD.value: lazy_gettext("Child"),
    Relationship.SPOUSE.value: lazy_gettext("Spouse"),
    Relationship.PARENT.value: lazy_gettext("Parent"),
    Relationship.SIBLING.value: lazy_gettext("Sibling"),
    Relationship.OTHER_RELATIVE.value: lazy_gettext("Other relative"),
    Relationship.CAREGIVER.value: lazy_gettext("Caregiver"),
    Relationship.OTHER.value: lazy_gettext("Other relationship"),
}
GOAL_STATUSES: Labels = {
    GoalStatus.OPEN.value: lazy_gettext("Open"),
    GoalStatus.ACHIEVED.value: lazy_gettext("Achieved"),
    GoalStatus.DROPPED.value: lazy_gettext("Dropped"),
}
ACTION_STATUSES: Labels = {
    ActionStatus.OPEN.value: lazy_gettext("Open"),
    ActionStatus.DONE.value: lazy_gettext("Done"),
    ActionStatus.CANCELLED.value: lazy_gettext("Cancelled"),
}
PLAN_CHANGES: Labels = {
    PlanChangeKind.GOAL_ADDED.value: lazy_gettext("Goal added"),
    PlanChangeKind.GOAL_ACHIEVED.value: lazy_gettext("Goal achieved"),
    PlanChangeKind.GOAL_DROPPED.value: lazy_gettext("Goal dropped"),
    PlanChangeKind.ACTION_ADDED.value: lazy_gettext("Action added"),
    PlanChangeKind.ACTION_RESCHEDULED.value: lazy_gettext("Action rescheduled"),
    PlanChangeKind.ACTION_DONE.value: lazy_gettext("Action done"),
    PlanChangeKind.ACTION_CANCELLED.value: lazy_gettext("Action cancelled"),
}
OCCASIONS: Labels = {
    WellbeingOccasion.INTAKE.value: lazy_gettext("Intake"),
    WellbeingOccasion.FOLLOW_UP.value: lazy_gettext("Follow-up"),
    WellbeingOccasion.CLOSURE.value: lazy_gettext("Closure"),
}
GENDERS: Labels = {
    Gender.FEMALE.value: lazy_gettext("Female"),
    Gender.MALE.value: lazy_gettext("Male"),
    Gender.OTHER.value: lazy_gettext("Other"),
}
AGE_GROUPS: Labels = {
    AgeGroup.UNDER_12.value: lazy_gettext("Under 12"),
    AgeGroup.FROM_12_TO_17.value: lazy_gettext("12 to 17"),
    AgeGroup.FROM_18_TO_25.value: lazy_gettext("18 to 25"),
    AgeGroup.FROM_26_TO_59.value: lazy_gettext("26 to 59"),
    AgeGroup.FROM_60.value: lazy_gettext("60 or older"),
}
LEGAL_STATUSES: Labels = {
    LegalStatus.TEMPORARY_PROTECTION.value: lazy_gettext("Temporary protection"),
    LegalStatus.INTERNATIONAL_PROTECTION.value: lazy_gettext("International protection"),
    LegalStatus.RESIDENCE_PERMIT.value: lazy_gettext("Residence permit"),
    LegalStatus.CITIZEN.value: lazy_gettext("Citizen"),
    LegalStatus.NONE.value: lazy_gettext("No legal status"),
    LegalStatus.UNKNOWN.value: lazy_gettext("Unknown"),
}
DIFFICULTIES: Labels = {
    Difficulty.NO_DIFFICULTY.value: lazy_gettext("No difficulty"),
    Difficulty.SOME_DIFFICULTY.value: lazy_gettext("Some difficulty"),
    Difficulty.A_LOT_OF_DIFFICULTY.value: lazy_gettext("A lot of difficulty"),
    Difficulty.CANNOT_DO_AT_ALL.value: lazy_gettext("Cannot do at all"),
}
WG_LABELS: Labels = {
    "wg_seeing": lazy_gettext("Difficulty seeing"),
    "wg_hearing": lazy_gettext("Difficulty hearing"),
    "wg_walking": lazy_gettext("Difficulty walking or climbing steps"),
    "wg_remembering": lazy_gettext("Difficulty remembering or concentrating"),
    "wg_self_care": lazy_gettext("Difficulty with self-care"),
    "wg_communicating": lazy_gettext("Difficulty communicating"),
}
FIELD_LABELS: Labels = {
    "name": lazy_gettext("Name"),
    "gender": lazy_gettext("Gender"),
    "birth_year": lazy_gettext("Year of birth"),
    "age_group": lazy_gettext("Age group"),
    "nationality": lazy_gettext("Nationality"),
    "legal_status": lazy_gettext("Legal status"),
    "province": lazy_gettext("Province"),
    "registered_site_id": lazy_gettext("Registered centre"),
    **WG_LABELS,
    "languages": lazy_gettext("Languages"),
    "household_size": lazy_gettext("Household size"),
}
# What the timeline says of calls, records and callbacks.
DIRECTIONS: Labels = {
    CallDirection.INBOUND.value: lazy_gettext("Incoming call"),
    CallDirection.OUTBOUND.value: lazy_gettext("Outgoing call"),
}
CALL_OUTCOMES: Labels = {
    CallOutcome.IN_PROGRESS.value: lazy_gettext("in progress"),
    CallOutcome.ANSWERED.value: lazy_gettext("answered"),
    CallOutcome.ABANDONED_IVR.value: lazy_gettext("hung up in the menu"),
    CallOutcome.ABANDONED_QUEUE.value: lazy_gettext("hung up while waiting"),
    CallOutcome.CALLBACK_REQUESTED.value: lazy_gettext("asked for a callback"),
    CallOutcome.VOICEMAIL.value: lazy_gettext("left a voicemail"),
    CallOutcome.EMERGENCY_TRANSFER.value: lazy_gettext("transferred to emergency services"),
    CallOutcome.OUT_OF_HOURS.value: lazy_gettext("out of hours"),
    CallOutcome.NO_ANSWER.value: lazy_gettext("no answer"),
    CallOutcome.BUSY.value: lazy_gettext("busy"),
    CallOutcome.FAILED.value: lazy_gettext("failed"),
    CallOutcome.BLOCKED.value: lazy_gettext("blocked"),
}
CALLBACK_STATUSES: Labels = {
    CallbackStatus.PENDING.value: lazy_gettext("waiting"),
    CallbackStatus.CLAIMED.value: lazy_gettext("being made"),
    CallbackStatus.DIALLING.value: lazy_gettext("being made"),
    CallbackStatus.COMPLETED.value: lazy_gettext("made"),
    CallbackStatus.FAILED.value: lazy_gettext("failed"),
    CallbackStatus.EXPIRED.value: lazy_gettext("expired"),
    CallbackStatus.CANCELLED.value: lazy_gettext("cancelled"),
}
RECORD_STATUSES: Labels = {
    ContactStatus.DRAFT.value: lazy_gettext("draft"),
    ContactStatus.FINAL.value: lazy_gettext("final"),
}
