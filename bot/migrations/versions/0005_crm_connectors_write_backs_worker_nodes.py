"""crm connectors, write-backs, worker nodes; what a CRM says of a deal and its contacts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:06:51
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Moment = sqlmodel.sql.sqltypes.UTCDateTime
DEAL_TEXT = ("source", 16), ("stage_id", 100), ("pipeline", 100), ("stage_status", 8)


def upgrade() -> None:
    """Long by nature: one statement per table or column, read best whole, top to bottom."""
    op.create_table(
        "connector",
        sa.Column("name", String(length=32), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("reason", String(length=300), nullable=True),
        sa.Column("since", Moment(), nullable=False),
        sa.Column("checked_at", Moment(), nullable=True),
        sa.Column("enabled_at", Moment(), nullable=False),
        sa.Column("cursor", String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "workernode",
        sa.Column("id", String(length=64), nullable=False),
        sa.Column("host", String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", Moment(), nullable=False),
        sa.Column("heartbeat_at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workernode_heartbeat_at", "workernode", ["heartbeat_at"])
    op.create_table(
        "crmwriteback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("introduction_id", sa.Integer(), nullable=False),
        sa.Column("crm", String(length=16), nullable=False),
        sa.Column("crm_deal_id", String(length=64), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("external_id", String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Moment(), nullable=True),
        sa.Column("lease_owner", String(length=64), nullable=True),
        sa.Column("lease_until", Moment(), nullable=True),
        sa.Column("last_error", String(length=500), nullable=True),
        sa.Column("created_at", Moment(), nullable=False),
        sa.Column("done_at", Moment(), nullable=True),
        sa.ForeignKeyConstraint(["introduction_id"], ["introduction.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("introduction_id"),
    )
    op.create_index("ix_crmwriteback_state", "crmwriteback", ["state"])
    with op.batch_alter_table("contact", schema=None) as batch_op:
        for name in ("first_name", "last_name"):
            batch_op.add_column(
                sa.Column(name, String(length=100), nullable=False, server_default="")
            )
        batch_op.add_column(sa.Column("crm_contact_id", String(length=64), nullable=True))
        batch_op.alter_column("email", existing_type=sa.VARCHAR(length=254), nullable=True)
        batch_op.create_unique_constraint(
            "uq_contact_deal_id_crm_contact_id", ["deal_id", "crm_contact_id"]
        )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        for name, length in DEAL_TEXT:
            batch_op.add_column(
                sa.Column(name, String(length=length), nullable=False, server_default="")
            )
        batch_op.add_column(sa.Column("probability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ae_user_id", String(length=32), nullable=True))
        batch_op.add_column(sa.Column("missing_notice_at", Moment(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", Moment(), nullable=True))
        batch_op.create_index("ix_deal_ae_user_id", ["ae_user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_ae_user_id")
        for name in ("deleted_at", "missing_notice_at", "ae_user_id", "probability"):
            batch_op.drop_column(name)
        for name, _ in reversed(DEAL_TEXT):
            batch_op.drop_column(name)
    op.execute("DELETE FROM contact WHERE email IS NULL")  # never invited: nothing to keep
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_constraint("uq_contact_deal_id_crm_contact_id", type_="unique")
        batch_op.alter_column("email", existing_type=sa.VARCHAR(length=254), nullable=False)
        for name in ("crm_contact_id", "last_name", "first_name"):
            batch_op.drop_column(name)
    op.drop_table("crmwriteback")
    op.drop_index("ix_workernode_heartbeat_at", table_name="workernode")
    op.drop_table("workernode")
    op.drop_table("connector")
