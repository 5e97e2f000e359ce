"""Referrals by kind and destination: made, consented, sent, accepted, declined and
provided in the period, and the share provided within the kind's target time.

Each step counts in the period it was taken in (its `referral_step.at`); a referral is
made when it was created. The target time of a kind is its `act_within_days`
(data/referrals.yaml), counted from sending to the service being provided. The
destination is the line's site the referral was sent to, else (for an SSC) its
province, else "elsewhere": never the free-text destination.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from helpline.models import ContactRecord, Referral, ReferralStep, Site, Staff
from helpline.models.base import DbSession
from helpline.models.enums import ReferralStatus
from helpline.records.catalog import Catalog
from helpline.reporting.programme import tables
from helpline.reporting.programme.model import Column, Period, Scope, Unit
from helpline.reporting.programme.sql import (
    TOTAL,
    Groups,
    Measures,
    count_of,
    grouped,
    in_period,
    seconds_between,
)
from helpline.reporting.programme.suppression import RawMeasure, RawTable, RawValue

STEPS = (
    ReferralStatus.CONSENTED,
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.DECLINED,
    ReferralStatus.SERVICE_PROVIDED,
)
ELSEWHERE = "elsewhere"
COLUMNS = (
    Column("made", "Made"),
    Column("consented", "Consented"),
    Column("sent", "Sent"),
    Column("accepted", "Accepted"),
    Column("declined", "Declined"),
    Column("service_provided", "Service provided"),
    Column("in_time", "Provided within the target time"),
    Column(
        "in_time_share",
        "Share provided within the target time",
        is_measure=True,
        derived_from=("service_provided", "in_time"),
    ),
)


def referrals_table(session: DbSession, period: Period, scope: Scope, catalog: Catalog) -> RawTable:
    # The first time each referral reached each step, for referrals with a step in the
    # period (a referral's status_at is its latest step).
    moved = sa.and_(
        Referral.created_at < period.until,
        sa.func.coalesce(Referral.status_at, Referral.created_at) >= period.since,
    )
    firsts = (
        sa.select(
            ReferralStep.referral_id.label("referral_id"),
            *[
                sa.func.min(sa.case((ReferralStep.status == step, ReferralStep.at))).label(step)
                for step in STEPS
            ],
        )
        .where(ReferralStep.referral_id.in_(sa.select(Referral.id).where(moved)))
        .group_by(ReferralStep.referral_id)
    )
    step_times = firsts.subquery("steps")
    target_days = sa.case(
        *[
            (Referral.kind == kind, info.act_within_days)
            for kind, info in catalog.referral_kinds.items()
        ],
        else_=None,
    )
    destination = sa.case(
        (Site.code.is_not(None), Site.code),
        (Referral.province.is_not(None), Referral.province),
        else_=ELSEWHERE,
    )
    provided = step_times.c[ReferralStatus.SERVICE_PROVIDED]
    sent = step_times.c[ReferralStatus.SENT]

    def inside(column: object) -> sa.ColumnElement[bool]:
        return sa.and_(*in_period(column, period))

    statement = (
        sa.select(
            (Referral.kind + sa.literal(" / ") + destination).label("kind_destination"),
            inside(Referral.created_at).label("is_made"),
            *[inside(step_times.c[step]).label(f"is_{step}") for step in STEPS],
            sa.and_(
                inside(provided),
                sent.is_not(None),
                seconds_between(session, sent, provided) <= target_days * 86400,
            ).label("is_in_time"),
        )
        .select_from(Referral)
        .join(ContactRecord, ContactRecord.id == Referral.contact_record_id)
        .join(Staff, Staff.id == ContactRecord.counsellor_id)
        .outerjoin(Site, Site.id == Referral.site_id)
        .outerjoin(step_times, step_times.c.referral_id == Referral.id)
        .where(moved)
    )
    if scope.site_ids is not None:
        statement = statement.where(Staff.site_id.in_(scope.site_ids))
    base = statement.subquery("referral_facts")
    measures: Measures = {"made": count_of("is_made")}
    for step in STEPS:
        measures[step.value] = count_of(f"is_{step}")
    measures["in_time"] = count_of("is_in_time")
    found = grouped(session, base, ["kind_destination"], measures)
    groups: Groups = {**found["kind_destination"], **found[TOTAL]}
    return tables.table(
        "referrals_by_kind",
        "Referrals by kind and destination",
        "kind_destination",
        COLUMNS,
        tables.rows(
            {k: v for k, v in groups.items() if k == TOTAL or any(v.values())},
            _values,
            label=lambda key: _label(key, catalog),
        ),
        note=(
            "Each step counts in the period it was taken in. The target time is the "
            "kind's act_within_days, from sending to the service provided."
        ),
    )


def _values(numbers: Mapping[str, float]) -> Sequence[RawValue]:
    counts: list[RawValue] = [tables.count(numbers, c.key) for c in COLUMNS[:-1]]
    provided, in_time = tables.count(numbers, "service_provided"), tables.count(numbers, "in_time")
    share = in_time / provided if provided else None
    return [*counts, RawMeasure(share, Unit.SHARE, provided)]


def _label(key: str, catalog: Catalog) -> str:
    kind, _, destination = key.partition(" / ")
    where = "not one of the line's sites" if destination == ELSEWHERE else destination
    return f"{catalog.referral_label(kind, 'en')} / {where}"
