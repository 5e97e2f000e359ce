"""Cases and person profiles (issue 17): persons, their numbers and consents; cases with
status, risk and assignment histories, linked persons, the plan (goals, actions, changes),
notes and WHO-5 wellbeing measures; `contact_record.case_id` ties contacts to a case.

Indexes serve the bench's queries: "My cases" (worker, status, next due action), the
supervisor's search (site / worker / status, opening time), and a case's timeline by
(case, time) in every history table, with a callback's calls and a record's callbacks.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:15:01.459249
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LINKED = "unlinked_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name_encrypted", sa.Text(), nullable=True),
        sa.Column("gender", sa.String(length=16), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("age_group", sa.String(length=8), nullable=True),
        sa.Column("nationality", sa.String(length=16), nullable=True),
        sa.Column("legal_status", sa.String(length=32), nullable=True),
        sa.Column("province", sa.String(length=64), nullable=True),
        sa.Column("registered_site_id", sa.Integer(), nullable=True),
        sa.Column("wg_seeing", sa.String(length=24), nullable=True),
        sa.Column("wg_hearing", sa.String(length=24), nullable=True),
        sa.Column("wg_walking", sa.String(length=24), nullable=True),
        sa.Column("wg_remembering", sa.String(length=24), nullable=True),
        sa.Column("wg_self_care", sa.String(length=24), nullable=True),
        sa.Column("wg_communicating", sa.String(length=24), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=True),
        sa.Column("declined", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff.id"],
            name=op.f("fk_person_created_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["registered_site_id"], ["site.id"], name=op.f("fk_person_registered_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_updated", ["updated_at"], unique=False)

    op.create_table(
        "case",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closure_reason", sa.String(length=24), nullable=True),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("risk_level", sa.String(length=12), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_from_record_id", BIG_ID, nullable=True),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["staff.id"],
            name=op.f("fk_case_opened_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opened_from_record_id"],
            ["contact_record.id"],
            name=op.f("fk_case_opened_from_record_id_contact_record"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_case_person_id_person")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_case_site_id_site")),
        sa.ForeignKeyConstraint(["worker_id"], ["staff.id"], name=op.f("fk_case_worker_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
        sa.UniqueConstraint("reference", name=op.f("uq_case_reference")),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_closed", ["closed_at"], unique=False)
        batch_op.create_index("ix_case_opened", ["opened_at", "id"], unique=False)
        batch_op.create_index("ix_case_person", ["person_id"], unique=False)
        batch_op.create_index(
            "ix_case_site_status_opened", ["site_id", "status", "opened_at", "id"], unique=False
        )
        batch_op.create_index("ix_case_status_opened", ["status", "opened_at", "id"], unique=False)
        batch_op.create_index(
            "ix_case_worker_opened", ["worker_id", "opened_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_case_worker_status_due", ["worker_id", "status", "next_due_at"], unique=False
        )

    op.create_table(
        "person_consent",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("call_id", BIG_ID, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("is_granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call.id"],
            name=op.f("fk_person_consent_call_id_call"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_consent_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff.id"],
            name=op.f("fk_person_consent_recorded_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_consent")),
    )
    with op.batch_alter_table("person_consent", schema=None) as batch_op:
        batch_op.create_index("ix_person_consent_person_kind", ["person_id", "kind"], unique=False)

    op.create_table(
        "person_number",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("caller_id", BIG_ID, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unlinked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["caller.id"],
            name=op.f("fk_person_number_caller_id_caller"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["staff.id"],
            name=op.f("fk_person_number_linked_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_number_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unlinked_by_id"],
            ["staff.id"],
            name=op.f("fk_person_number_unlinked_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_number")),
    )
    with op.batch_alter_table("person_number", schema=None) as batch_op:
        batch_op.create_index("ix_person_number_caller", ["caller_id", "person_id"], unique=False)
        batch_op.create_index(
            "uq_person_number_linked",
            ["person_id", "caller_id"],
            unique=True,
            postgresql_where=sa.text(LINKED),
            sqlite_where=sa.text(LINKED),
        )

    op.create_table(
        "case_assignment",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["staff.id"],
            name=op.f("fk_case_assignment_assigned_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_case_assignment_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_case_assignment_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["staff.id"], name=op.f("fk_case_assignment_worker_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignment")),
    )
    with op.batch_alter_table("case_assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_assignment_case_at", ["case_id", "assigned_at", "id"], unique=False
        )

    op.create_table(
        "case_goal",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("description_encrypted", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_goal_case_id_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff.id"],
            name=op.f("fk_case_goal_created_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_goal")),
    )
    with op.batch_alter_table("case_goal", schema=None) as batch_op:
        batch_op.create_index("ix_case_goal_case", ["case_id", "id"], unique=False)

    op.create_table(
        "case_note",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("text_encrypted", sa.Text(), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_note_case_id_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"],
            ["staff.id"],
            name=op.f("fk_case_note_written_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_note")),
    )
    with op.batch_alter_table("case_note", schema=None) as batch_op:
        batch_op.create_index("ix_case_note_case_at", ["case_id", "written_at", "id"], unique=False)

    op.create_table(
        "case_person",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_person_case_id_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["staff.id"],
            name=op.f("fk_case_person_linked_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_case_person_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_person")),
    )
    with op.batch_alter_table("case_person", schema=None) as batch_op:
        batch_op.create_index("ix_case_person_person", ["person_id"], unique=False)
        batch_op.create_index(
            "uq_case_person_linked",
            ["case_id", "person_id"],
            unique=True,
            postgresql_where=sa.text(LINKED),
            sqlite_where=sa.text(LINKED),
        )

    op.create_table(
        "case_risk",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("risk_level", sa.String(length=12), nullable=False),
        sa.Column("assessed_by_id", sa.Integer(), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessed_by_id"],
            ["staff.id"],
            name=op.f("fk_case_risk_assessed_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_risk_case_id_case"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_risk")),
    )
    with op.batch_alter_table("case_risk", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_risk_case_at", ["case_id", "assessed_at", "id"], unique=False
        )

    op.create_table(
        "case_status_change",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("closure_reason", sa.String(length=24), nullable=True),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_case_status_change_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["staff.id"],
            name=op.f("fk_case_status_change_changed_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_status_change")),
    )
    with op.batch_alter_table("case_status_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_status_change_case_at", ["case_id", "changed_at", "id"], unique=False
        )

    op.create_table(
        "wellbeing_measure",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("occasion", sa.String(length=12), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("raw_score", sa.Integer(), nullable=False),
        sa.Column("percentage", sa.Integer(), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "percentage BETWEEN 0 AND 100", name=op.f("ck_wellbeing_measure_percentage")
        ),
        sa.CheckConstraint(
            "raw_score BETWEEN 0 AND 25", name=op.f("ck_wellbeing_measure_raw_score")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_wellbeing_measure_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_wellbeing_measure_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"],
            ["staff.id"],
            name=op.f("fk_wellbeing_measure_taken_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wellbeing_measure")),
    )
    with op.batch_alter_table("wellbeing_measure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wellbeing_measure_case_at", ["case_id", "taken_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_wellbeing_measure_person_at", ["person_id", "taken_at", "id"], unique=False
        )

    op.create_table(
        "case_action",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("goal_id", BIG_ID, nullable=True),
        sa.Column("description_encrypted", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("is_call", sa.Boolean(), nullable=False),
        sa.Column("callback_request_id", BIG_ID, nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["callback_request_id"],
            ["callback_request.id"],
            name=op.f("fk_case_action_callback_request_id_callback_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_action_case_id_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff.id"],
            name=op.f("fk_case_action_created_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["case_goal.id"],
            name=op.f("fk_case_action_goal_id_case_goal"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["staff.id"], name=op.f("fk_case_action_owner_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_action")),
    )
    with op.batch_alter_table("case_action", schema=None) as batch_op:
        batch_op.create_index("ix_case_action_callback", ["callback_request_id"], unique=False)
        batch_op.create_index(
            "ix_case_action_case_due", ["case_id", "status", "due_at"], unique=False
        )
        batch_op.create_index(
            "ix_case_action_owner_due", ["owner_id", "status", "due_at"], unique=False
        )

    op.create_table(
        "case_plan_change",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("goal_id", BIG_ID, nullable=True),
        sa.Column("action_id", BIG_ID, nullable=True),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["case_action.id"],
            name=op.f("fk_case_plan_change_action_id_case_action"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_case_plan_change_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["staff.id"],
            name=op.f("fk_case_plan_change_changed_by_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["case_goal.id"],
            name=op.f("fk_case_plan_change_goal_id_case_goal"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_plan_change")),
    )
    with op.batch_alter_table("case_plan_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_plan_change_case_at", ["case_id", "changed_at", "id"], unique=False
        )

    with op.batch_alter_table("contact_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", BIG_ID, nullable=True))
        batch_op.create_index(
            "ix_contact_record_case_created", ["case_id", "created_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_contact_record_case_id_case"),
            "case",
            ["case_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_call_callback_request", "call", ["callback_request_id"], unique=False)
    op.create_index(
        "ix_callback_request_contact_record",
        "callback_request",
        ["contact_record_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_callback_request_contact_record", table_name="callback_request")
    op.drop_index("ix_call_callback_request", table_name="call")
    with op.batch_alter_table("contact_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contact_record_case_id_case"), type_="foreignkey")
        batch_op.drop_index("ix_contact_record_case_created")
        batch_op.drop_column("case_id")

    with op.batch_alter_table("case_plan_change", schema=None) as batch_op:
        batch_op.drop_index("ix_case_plan_change_case_at")

    op.drop_table("case_plan_change")
    with op.batch_alter_table("case_action", schema=None) as batch_op:
        batch_op.drop_index("ix_case_action_owner_due")
        batch_op.drop_index("ix_case_action_case_due")
        batch_op.drop_index("ix_case_action_callback")

    op.drop_table("case_action")
    with op.batch_alter_table("wellbeing_measure", schema=None) as batch_op:
        batch_op.drop_index("ix_wellbeing_measure_person_at")
        batch_op.drop_index("ix_wellbeing_measure_case_at")

    op.drop_table("wellbeing_measure")
    with op.batch_alter_table("case_status_change", schema=None) as batch_op:
        batch_op.drop_index("ix_case_status_change_case_at")

    op.drop_table("case_status_change")
    with op.batch_alter_table("case_risk", schema=None) as batch_op:
        batch_op.drop_index("ix_case_risk_case_at")

    op.drop_table("case_risk")
    with op.batch_alter_table("case_person", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_case_person_linked", postgresql_where=sa.text(LINKED), sqlite_where=sa.text(LINKED)
        )
        batch_op.drop_index("ix_case_person_person")

    op.drop_table("case_person")
    with op.batch_alter_table("case_note", schema=None) as batch_op:
        batch_op.drop_index("ix_case_note_case_at")

    op.drop_table("case_note")
    with op.batch_alter_table("case_goal", schema=None) as batch_op:
        batch_op.drop_index("ix_case_goal_case")

    op.drop_table("case_goal")
    with op.batch_alter_table("case_assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_case_assignment_case_at")

    op.drop_table("case_assignment")
    with op.batch_alter_table("person_number", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_person_number_linked",
            postgresql_where=sa.text(LINKED),
            sqlite_where=sa.text(LINKED),
        )
        batch_op.drop_index("ix_person_number_caller")

    op.drop_table("person_number")
    with op.batch_alter_table("person_consent", schema=None) as batch_op:
        batch_op.drop_index("ix_person_consent_person_kind")

    op.drop_table("person_consent")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_worker_status_due")
        batch_op.drop_index("ix_case_worker_opened")
        batch_op.drop_index("ix_case_status_opened")
        batch_op.drop_index("ix_case_site_status_opened")
        batch_op.drop_index("ix_case_person")
        batch_op.drop_index("ix_case_opened")
        batch_op.drop_index("ix_case_closed")

    op.drop_table("case")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_updated")

    op.drop_table("person")
