"""crm and slack events, reminders, response clocks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:54:32.555019
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Long by nature: one statement per table or column, read best whole, top to bottom."""
    op.create_table(
        "crmevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("crm_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("crmevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crmevent_crm_id"), ["crm_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_crmevent_processed_at"), ["processed_at"], unique=False
        )

    op.create_table(
        "remindersent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "week"),
    )
    op.create_table(
        "slackevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("slackevent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slackevent_processed_at"), ["processed_at"], unique=False
        )

    op.create_table(
        "responseclock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("introduction_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("asker_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("text_preview", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("response_seconds", sa.Integer(), nullable=True),
        sa.Column("engineer_alerted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("backup_alerted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["introduction_id"],
            ["introduction.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "message_ts"),
    )
    with op.batch_alter_table("responseclock", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_responseclock_answered_at"), ["answered_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_responseclock_introduction_id"), ["introduction_id"], unique=False
        )

    with op.batch_alter_table("introduction", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_prospect_message_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_prospect_text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True
            )
        )

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tz", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("tz_checked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("tz_checked_at")
        batch_op.drop_column("tz")

    with op.batch_alter_table("introduction", schema=None) as batch_op:
        batch_op.drop_column("last_prospect_text")
        batch_op.drop_column("last_prospect_message_at")

    with op.batch_alter_table("responseclock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responseclock_introduction_id"))
        batch_op.drop_index(batch_op.f("ix_responseclock_answered_at"))

    op.drop_table("responseclock")
    with op.batch_alter_table("slackevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slackevent_processed_at"))

    op.drop_table("slackevent")
    op.drop_table("remindersent")
    with op.batch_alter_table("crmevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crmevent_processed_at"))
        batch_op.drop_index(batch_op.f("ix_crmevent_crm_id"))

    op.drop_table("crmevent")
