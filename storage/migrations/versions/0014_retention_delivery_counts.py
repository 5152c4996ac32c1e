"""retention: delivery counts kept after rows are purged; reports' purge time

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-01 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'broadcast_delivery_counts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('broadcast_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error_code', sa.String(length=32), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('purged_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['broadcast_id'], ['broadcasts.id'], name='fk_delivery_counts_broadcast',
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_delivery_counts')),
    )
    op.create_index(
        'ix_broadcast_delivery_counts_broadcast', 'broadcast_delivery_counts', ['broadcast_id']
    )
    with op.batch_alter_table('reports') as batch:
        batch.add_column(
            sa.Column('text_purged_at', storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('text_purged_at')
    op.drop_index('ix_broadcast_delivery_counts_broadcast', 'broadcast_delivery_counts')
    op.drop_table('broadcast_delivery_counts')
