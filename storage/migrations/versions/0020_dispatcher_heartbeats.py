"""dispatcher heartbeats: a dispatcher run on its own reports to serve's readiness

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-01 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dispatcher_heartbeats',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('beat_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('report', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_dispatcher_heartbeats')),
    )


def downgrade() -> None:
    op.drop_table('dispatcher_heartbeats')
