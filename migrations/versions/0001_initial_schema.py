"""Initial schema: staff, calls, contacts, callbacks and the audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 11:35:56.058940
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "caller",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number_index", sa.String(length=64), nullable=False),
        sa.Column("number_encrypted", sa.Text(), nullable=False),
        sa.Column("preferred_language", sa.String(length=8), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caller")),
        sa.UniqueConstraint("number_index", name=op.f("uq_caller_number_index")),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("province", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("code", name=op.f("uq_site_code")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_province"), ["province"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("phone_encrypted", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("ui_language", sa.String(length=8), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_staff_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("phone_index", name=op.f("uq_staff_phone_index")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_site_id"), ["site_id"], unique=False)

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["staff.id"],
            name=op.f("fk_audit_entry_actor_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_entry_seq")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entry_action_occurred", ["action", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_entry_actor_occurred", ["actor_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_audit_entry_occurred", ["occurred_at"], unique=False)
        batch_op.create_index("ix_audit_entry_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "call",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("parent_call_sid", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("caller_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("is_number_withheld", sa.Boolean(), nullable=False),
        sa.Column("twilio_status", sa.String(length=16), nullable=True),
        sa.Column("last_sequence_number", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language_selected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrap_up_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("topic", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=True),
        sa.Column("flow_version", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("interpreter_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column(
            "callback_request_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("is_recording_consented", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["caller_id"], ["caller.id"], name=op.f("fk_call_caller_id_caller"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"], ["staff.id"], name=op.f("fk_call_counsellor_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["interpreter_id"], ["staff.id"], name=op.f("fk_call_interpreter_id_staff")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_call_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_call_call_sid")),
    )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index("ix_call_caller_started", ["caller_id", "started_at"], unique=False)
        batch_op.create_index(
            "ix_call_counsellor_started", ["counsellor_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_call_interpreter_started", ["interpreter_id", "started_at"], unique=False
        )
        batch_op.create_index("ix_call_site_started", ["site_id", "started_at"], unique=False)
        batch_op.create_index("ix_call_started_language", ["started_at", "language"], unique=False)
        batch_op.create_index("ix_call_started_outcome", ["started_at", "outcome"], unique=False)

    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_login_session_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_session_token_hash")),
    )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_session_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "presence_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_presence_change_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_change")),
    )
    with op.batch_alter_table("presence_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_presence_change_staff_at", ["staff_id", "changed_at"], unique=False
        )

    op.create_table(
        "staff_language",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_staff_language_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "language", name=op.f("pk_staff_language")),
    )
    with op.batch_alter_table("staff_language", schema=None) as batch_op:
        batch_op.create_index("ix_staff_language_language", ["language"], unique=False)

    op.create_table(
        "staff_role",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_staff_role_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "role", name=op.f("pk_staff_role")),
    )
    op.create_table(
        "staff_topic",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_staff_topic_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "topic", name=op.f("pk_staff_topic")),
    )
    op.create_table(
        "call_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("sequence_number", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_call_event_call_id_call"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_call_event_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_event")),
        sa.UniqueConstraint(
            "call_id", "source", "sequence_number", name="uq_call_event_call_source_sequence"
        ),
    )
    with op.batch_alter_table("call_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_event_call_occurred", ["call_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_call_event_kind_occurred", ["kind", "occurred_at"], unique=False)

    op.create_table(
        "caller_consent",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "caller_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("is_granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call.id"],
            name=op.f("fk_caller_consent_call_id_call"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["caller.id"],
            name=op.f("fk_caller_consent_caller_id_caller"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caller_consent")),
    )
    with op.batch_alter_table("caller_consent", schema=None) as batch_op:
        batch_op.create_index("ix_caller_consent_caller_kind", ["caller_id", "kind"], unique=False)

    op.create_table(
        "contact_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("caller_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("counsellor_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("call_type", sa.String(length=24), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("summary_encrypted", sa.Text(), nullable=True),
        sa.Column("risk_level", sa.String(length=12), nullable=False),
        sa.Column("is_safety_plan_made", sa.Boolean(), nullable=False),
        sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call.id"],
            name=op.f("fk_contact_record_call_id_call"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["caller.id"],
            name=op.f("fk_contact_record_caller_id_caller"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"], ["staff.id"], name=op.f("fk_contact_record_counsellor_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_record")),
        sa.UniqueConstraint("call_id", name=op.f("uq_contact_record_call_id")),
    )
    with op.batch_alter_table("contact_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_record_caller_created", ["caller_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_contact_record_counsellor_created", ["counsellor_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_contact_record_risk_created", ["risk_level", "created_at"], unique=False
        )

    op.create_table(
        "recording",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recording_sid", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_recording_call_id_call"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording")),
        sa.UniqueConstraint("recording_sid", name=op.f("uq_recording_recording_sid")),
    )
    with op.batch_alter_table("recording", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_call_id"), ["call_id"], unique=False)

    op.create_table(
        "callback_request",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "caller_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "contact_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("queue_entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("preferred_staff_id", sa.Integer(), nullable=True),
        sa.Column("assigned_staff_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_staff_id"],
            ["staff.id"],
            name=op.f("fk_callback_request_assigned_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call.id"],
            name=op.f("fk_callback_request_call_id_call"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["caller.id"],
            name=op.f("fk_callback_request_caller_id_caller"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_record_id"],
            ["contact_record.id"],
            name=op.f("fk_callback_request_contact_record_id_contact_record"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["preferred_staff_id"],
            ["staff.id"],
            name=op.f("fk_callback_request_preferred_staff_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_request")),
    )
    with op.batch_alter_table("callback_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_callback_request_assigned_status", ["assigned_staff_id", "status"], unique=False
        )
        batch_op.create_index("ix_callback_request_caller", ["caller_id"], unique=False)
        batch_op.create_index(
            "ix_callback_request_status_next", ["status", "next_attempt_at"], unique=False
        )

    # call and callback_request refer to each other; this side is added once both exist.
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_call_callback_request_id_callback_request"),
            "callback_request",
            ["callback_request_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "contact_record_version",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contact_record_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("edited_by_id", sa.Integer(), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("call_type", sa.String(length=24), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("summary_encrypted", sa.Text(), nullable=True),
        sa.Column("risk_level", sa.String(length=12), nullable=False),
        sa.Column("is_safety_plan_made", sa.Boolean(), nullable=False),
        sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("referrals", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_record_id"],
            ["contact_record.id"],
            name=op.f("fk_contact_record_version_contact_record_id_contact_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["edited_by_id"],
            ["staff.id"],
            name=op.f("fk_contact_record_version_edited_by_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_record_version")),
        sa.UniqueConstraint("contact_record_id", "version", name="uq_contact_record_version"),
    )
    op.create_table(
        "referral",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contact_record_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("province", sa.String(length=64), nullable=True),
        sa.Column("destination", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_record_id"],
            ["contact_record.id"],
            name=op.f("fk_referral_contact_record_id_contact_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_referral_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_contact_record_id"), ["contact_record_id"], unique=False
        )

    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("last_seq"), sa.column("last_hash")),
        [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}],
    )
    _create_append_only_guard()


def downgrade() -> None:
    _drop_append_only_guard()
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_call_callback_request_id_callback_request"), type_="foreignkey"
        )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_contact_record_id"))

    op.drop_table("referral")
    op.drop_table("contact_record_version")
    with op.batch_alter_table("callback_request", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_request_status_next")
        batch_op.drop_index("ix_callback_request_caller")
        batch_op.drop_index("ix_callback_request_assigned_status")

    op.drop_table("callback_request")
    with op.batch_alter_table("recording", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_call_id"))

    op.drop_table("recording")
    with op.batch_alter_table("contact_record", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_record_risk_created")
        batch_op.drop_index("ix_contact_record_counsellor_created")
        batch_op.drop_index("ix_contact_record_caller_created")

    op.drop_table("contact_record")
    with op.batch_alter_table("caller_consent", schema=None) as batch_op:
        batch_op.drop_index("ix_caller_consent_caller_kind")

    op.drop_table("caller_consent")
    with op.batch_alter_table("call_event", schema=None) as batch_op:
        batch_op.drop_index("ix_call_event_kind_occurred")
        batch_op.drop_index("ix_call_event_call_occurred")

    op.drop_table("call_event")
    op.drop_table("staff_topic")
    op.drop_table("staff_role")
    with op.batch_alter_table("staff_language", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_language_language")

    op.drop_table("staff_language")
    with op.batch_alter_table("presence_change", schema=None) as batch_op:
        batch_op.drop_index("ix_presence_change_staff_at")

    op.drop_table("presence_change")
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_staff_id"))

    op.drop_table("login_session")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index("ix_call_started_outcome")
        batch_op.drop_index("ix_call_started_language")
        batch_op.drop_index("ix_call_site_started")
        batch_op.drop_index("ix_call_interpreter_started")
        batch_op.drop_index("ix_call_counsellor_started")
        batch_op.drop_index("ix_call_caller_started")

    op.drop_table("call")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_target")
        batch_op.drop_index("ix_audit_entry_occurred")
        batch_op.drop_index("ix_audit_entry_actor_occurred")
        batch_op.drop_index("ix_audit_entry_action_occurred")

    op.drop_table("audit_entry")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_site_id"))

    op.drop_table("staff")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_province"))

    op.drop_table("site")
    op.drop_table("caller")
    op.drop_table("audit_head")


# The audit log is append-only in the database too, not only by convention: an UPDATE or
# DELETE on audit_entry fails. Retention jobs that must purge old entries do so by
# setting the PostgreSQL session variable helpline.audit_purge to 'on' (a later issue).
def _create_append_only_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND current_setting('helpline.audit_purge', true) = 'on' THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'audit_entry is append-only';
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
            FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()
        """)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry
                BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END
            """)


def _drop_append_only_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
