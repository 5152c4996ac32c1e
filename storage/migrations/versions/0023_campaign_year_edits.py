"""campaign year edits: the year's theme and revision, moved and added messages

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-01 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0023'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_years') as batch_op:
        batch_op.add_column(sa.Column('theme', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('revision', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table(
        'campaign_message_edits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign', sa.String(length=100), nullable=False),
        sa.Column('message', sa.String(length=100), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('added', sa.Boolean(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('definition', sa.JSON(), nullable=True),
        sa.Column('changed_by', sa.String(length=200), nullable=False),
        sa.Column('changed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_message_edits')),
        sa.UniqueConstraint('campaign', 'message', 'year', name='uq_campaign_message_edits'),
    )


def downgrade() -> None:
    op.drop_table('campaign_message_edits')
    with op.batch_alter_table('campaign_years') as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('theme')
