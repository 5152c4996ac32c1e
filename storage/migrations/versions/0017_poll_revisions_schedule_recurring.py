"""polls edited in the console: a revision (optimistic concurrency) and open-on-schedule;
recurring messages and their occurrences (one row per occurrence: once whatever the restarts);
campaign texts edited per year and the year's approval

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 13:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('open_on_schedule', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_by', sa.String(length=200), nullable=True))
    op.create_table(
        'recurring_schedules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('enabled', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('day', sa.Integer(), nullable=True),
        sa.Column('time', sa.String(length=5), nullable=True),
        sa.Column('changed_by', sa.String(length=200), nullable=True),
        sa.Column('changed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key', name='uq_recurring_schedule_key'),
    )
    op.create_table(
        'recurring_occurrences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule_key', sa.String(length=60), nullable=False),
        sa.Column('occurs_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('broadcast_id', sa.Integer(), nullable=True),
        sa.Column('recipients', sa.Integer(), server_default='0', nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name='fk_recurring_broadcast', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('schedule_key', 'occurs_at', name='uq_recurring_occurrence'),
    )
    op.create_table(
        'campaign_texts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign', sa.String(length=100), nullable=False),
        sa.Column('message', sa.String(length=100), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('changed_by', sa.String(length=200), nullable=False),
        sa.Column('changed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign', 'message', 'year', name='uq_campaign_texts'),
    )
    with op.batch_alter_table('campaign_years', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('approved_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_years', schema=None) as batch_op:
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by')
    op.drop_table('campaign_texts')
    op.drop_table('recurring_occurrences')
    op.drop_table('recurring_schedules')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        for column in ('updated_by', 'updated_at', 'open_on_schedule', 'revision'):
            batch_op.drop_column(column)
