"""sms re-route: a row a phone's radio failed goes once to another route, the reason kept

Revision ID: 0021
Revises: 0023
Create Date: 2026-12-01 15:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("reroute_from", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reroute_slot", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reroute_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("reroute_reason")
        batch.drop_column("reroute_slot")
        batch.drop_column("reroute_from")
