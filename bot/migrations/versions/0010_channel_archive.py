"""channelarchive: a lost deal's care channel archived after CARE_ARCHIVE_LOST_DAYS

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Moment = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "channelarchive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("introduction_id", sa.Integer(), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("lost_at", Moment(), nullable=False),
        sa.Column("notice_sent_at", Moment(), nullable=True),
        sa.Column("archive_at", Moment(), nullable=True),
        sa.Column("archived_at", Moment(), nullable=True),
        sa.Column("reopened_at", Moment(), nullable=True),
        sa.Column("unarchived_at", Moment(), nullable=True),
        sa.Column("checked_at", Moment(), nullable=True),
        sa.Column("lease_owner", String(length=64), nullable=True),
        sa.Column("lease_until", Moment(), nullable=True),
        sa.Column("last_error", String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["introduction_id"], ["introduction.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("introduction_id"),
    )
    op.create_index("ix_channelarchive_state", "channelarchive", ["state"])


def downgrade() -> None:
    op.drop_index("ix_channelarchive_state", table_name="channelarchive")
    op.drop_table("channelarchive")
