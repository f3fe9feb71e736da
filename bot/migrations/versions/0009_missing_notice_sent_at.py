"""deal.missing_notice_sent_at: the AE's one notice recorded as sent, not only claimed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("missing_notice_sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # notices claimed before this column existed were sent (or lost for good): not again
    op.execute(
        "UPDATE deal SET missing_notice_sent_at = missing_notice_at"
        " WHERE missing_notice_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_column("missing_notice_sent_at")
