"""console accounts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('password_changed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('disabled_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_accounts')),
        sa.UniqueConstraint('username', name=op.f('uq_console_accounts_username')),
    )


def downgrade() -> None:
    op.drop_table('console_accounts')
