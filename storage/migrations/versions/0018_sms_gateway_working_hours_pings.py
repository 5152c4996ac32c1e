"""sms gateways: optional working hours, and when the phone last pinged

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-01 13:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sms_gateways') as batch:
        batch.add_column(sa.Column('working_hours', sa.String(length=11), nullable=True))
        batch.add_column(
            sa.Column('last_ping_at', storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('sms_gateways') as batch:
        batch.drop_column('last_ping_at')
        batch.drop_column('working_hours')
