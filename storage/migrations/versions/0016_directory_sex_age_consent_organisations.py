"""the national directory: members' sex, age band, role, invitation and consent; organisations
as records (region, cercle, themes, focal point, active, merged names)

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-01 12:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sex', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('age_band', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('role', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('telegram_username', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('consent_channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('imported_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('invited_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refused_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_members_telegram_username', ['telegram_username'], unique=False)
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('cercle', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('themes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('aliases', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('focal_member_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        for column in ('focal_member_id', 'aliases', 'active', 'themes', 'cercle', 'region'):
            batch_op.drop_column(column)
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_telegram_username')
        for column in (
            'refused_at', 'reminded_at', 'invited_at', 'imported_at', 'consent_channel',
            'telegram_username', 'email', 'role', 'age_band', 'sex',
        ):
            batch_op.drop_column(column)
