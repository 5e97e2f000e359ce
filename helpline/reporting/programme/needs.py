"""Needs: contacts by category and sub-category, with their risk levels.

A contact record names several categories; it counts once under each category it names
(a sub-category counts under its category too, once), so categories do not add up to
the contacts. Codes are read from the JSON list in the database (`json_each` on SQLite,
`json_array_elements_text` on PostgreSQL) and mapped to their category and
sub-category with CASE expressions built from data/categories.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from helpline.models import ContactRecord, Staff
from helpline.models.base import DbSession
from helpline.models.enums import ContactStatus, RiskLevel
from helpline.records.catalog import Catalog
from helpline.reporting.programme import labels, tables
from helpline.reporting.programme.model import Column, Period, Scope
from helpline.reporting.programme.sql import TOTAL, Expr, Groups, count_if, in_period
from helpline.reporting.programme.suppression import RawRow, RawTable, RawValue

RISKS = tuple(r.value for r in RiskLevel)
COLUMNS = (
    Column("contacts", "Contacts", is_additive=False),
    *(Column(f"risk_{r}", f"Risk: {labels.value(r).lower()}", is_additive=False) for r in RISKS),
)


def _codes(session: DbSession) -> tuple[Any, Expr]:
    """A table function over a record's categories, and its value column."""
    if session.get_bind().dialect.name == "postgresql":
        elements = sa.func.json_array_elements_text(ContactRecord.categories).table_valued("value")
        return elements, elements.c.value
    each = sa.func.json_each(ContactRecord.categories).table_valued("value")
    return each, each.c.value


def _level(code: Expr, prefixes: Sequence[str], other: Expr | str | None) -> Expr:
    """The first of `prefixes` the code is, or starts with (and a dot)."""
    whens = [(sa.or_(code == p, code.like(f"{p}.%")), p) for p in prefixes]
    if not whens:
        return sa.literal(other) if isinstance(other, str) or other is None else other
    return sa.case(*whens, else_=other)


def needs_table(session: DbSession, period: Period, scope: Scope, catalog: Catalog) -> RawTable:
    """Final contact records of the period by category and sub-category, with risk levels."""
    tops = [c.code for c in catalog.categories]
    subs = [child.code for c in catalog.categories for child in c.children]
    source, code = _codes(session)
    code = sa.cast(code, sa.String)
    statement = (
        sa.select(
            ContactRecord.id.label("record_id"),
            ContactRecord.risk_level.label("risk"),
            _level(code, tops, code).label("category"),
            _level(code, subs, None).label("sub_category"),
        )
        .select_from(ContactRecord)
        .join(source, sa.true())
        .join(Staff, Staff.id == ContactRecord.counsellor_id)
        .where(
            ContactRecord.status == ContactStatus.FINAL,
            *in_period(ContactRecord.created_at, period),
        )
    )
    if scope.site_ids is not None:
        statement = statement.where(Staff.site_id.in_(scope.site_ids))
    base = statement.subquery("needs")
    groups: Groups = {}
    for column in (base.c.category, base.c.sub_category):
        # DISTINCT on (record, group): a record naming two codes of one group counts once.
        pairs = (
            sa.select(column.label("code"), base.c.record_id, base.c.risk)
            .where(column.is_not(None))
            .distinct()
            .subquery()
        )
        measures = [sa.func.count().label("contacts")] + [
            count_if(pairs.c.risk == r).label(f"risk_{r}") for r in RISKS
        ]
        for row in session.execute(
            sa.select(pairs.c.code, *measures).group_by(pairs.c.code)
        ).mappings():
            groups[str(row["code"])] = _numbers(row)
    records = (
        sa.select(ContactRecord.id, ContactRecord.risk_level.label("risk"))
        .join(Staff, Staff.id == ContactRecord.counsellor_id)
        .where(
            ContactRecord.status == ContactStatus.FINAL,
            *in_period(ContactRecord.created_at, period),
        )
    )
    if scope.site_ids is not None:
        records = records.where(Staff.site_id.in_(scope.site_ids))
    every = records.subquery()
    totals = (
        session.execute(
            sa.select(
                sa.func.count().label("contacts"),
                *[count_if(every.c.risk == r).label(f"risk_{r}") for r in RISKS],
            )
        )
        .mappings()
        .one()
    )
    groups[TOTAL] = _numbers(totals)
    keys = _ordered(groups, tops, catalog)
    return tables.table(
        "needs_by_category",
        "Contacts by category and sub-category, with risk levels",
        "category",
        COLUMNS,
        _rows(groups, keys, catalog),
        row_total="contacts",
        row_parts=[f"risk_{r}" for r in RISKS],
        note=(
            "A contact counts once under each category it names, so the categories add up "
            "to more than the total of contacts."
        ),
    )


def _numbers(row: Mapping[Any, Any]) -> dict[str, float]:
    return {c.key: float(row[c.key] or 0) for c in COLUMNS}


def _ordered(groups: Groups, tops: Sequence[str], catalog: Catalog) -> list[str]:
    """Each category in the file's order followed by its sub-categories, then codes the
    file no longer lists."""
    keys = []
    for top in tops:
        if top in groups:
            keys.append(top)
        for child in catalog.by_code[top].children:
            if child.code in groups:
                keys.append(child.code)
    keys += sorted(k for k in groups if k not in keys and k != TOTAL)
    return keys


def _rows(groups: Groups, keys: Sequence[str], catalog: Catalog) -> tuple[RawRow, ...]:
    def values(numbers: Mapping[str, float]) -> list[RawValue]:
        return [tables.count(numbers, c.key) for c in COLUMNS]

    def label(code: str) -> str:
        found = catalog.category_label(code, "en")
        if "." not in code:
            return found
        return f"{catalog.category_label(code.rsplit('.', 1)[0], 'en')} / {found}"

    return tables.rows(groups, values, keys, label)
