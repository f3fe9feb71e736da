"""connector.polled_at: the poll claimed once per interval across processes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Moment = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("connector") as batch:
        batch.add_column(sa.Column("polled_at", Moment(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connector") as batch:
        batch.drop_column("polled_at")
