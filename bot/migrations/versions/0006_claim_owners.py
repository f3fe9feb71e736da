"""claim owners: who holds a Slack event, a reminder week, a response alert

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:30:00

These claims had only a time, so a killed worker's were free only once that time was a
lease old (or, for an alert, never). With their owner (a worker node) they are free as
soon as the node falls silent (`bot.store.claims.lease_free`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
OWNERS = (
    ("slackevent", "lease_owner"),
    ("remindersent", "lease_owner"),
    ("responseclock", "engineer_alert_owner"),
    ("responseclock", "backup_alert_owner"),
)


def upgrade() -> None:
    for table, column in OWNERS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, String(length=64), nullable=True))


def downgrade() -> None:
    for table, column in reversed(OWNERS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
