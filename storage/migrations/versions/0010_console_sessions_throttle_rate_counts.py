"""console sessions, sign-in throttle, rate counts

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 12:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('principal', sa.String(length=40), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    )
    op.create_index(op.f('ix_console_sessions_principal'), 'console_sessions', ['principal'])
    op.create_index(op.f('ix_console_sessions_seen_at'), 'console_sessions', ['seen_at'])
    op.create_table(
        'sign_in_throttle',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('not_before', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttle')),
    )
    op.create_index(op.f('ix_sign_in_throttle_last_at'), 'sign_in_throttle', ['last_at'])
    op.create_table(
        'rate_counts',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('window_start', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_counts')),
    )
    op.create_index(op.f('ix_rate_counts_window_start'), 'rate_counts', ['window_start'])


def downgrade() -> None:
    op.drop_table('rate_counts')
    op.drop_table('sign_in_throttle')
    op.drop_table('console_sessions')
