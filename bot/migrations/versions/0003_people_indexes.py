"""indexes for "my deals": status, App Home and reminders look deals up by person

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_registered_by"), ["registered_by"])
    with op.batch_alter_table("introduction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_introduction_engineer_user_id"), ["engineer_user_id"])
        batch_op.create_index(batch_op.f("ix_introduction_ae_user_id"), ["ae_user_id"])


def downgrade() -> None:
    with op.batch_alter_table("introduction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_introduction_ae_user_id"))
        batch_op.drop_index(batch_op.f("ix_introduction_engineer_user_id"))
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_registered_by"))
