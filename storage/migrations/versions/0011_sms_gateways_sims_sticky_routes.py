"""sms gateways (Android phones), their SIMs, members' sticky SIM

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-01 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sms_gateways',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('base_url', sa.String(length=500), nullable=False),
        sa.Column('login', sa.String(length=200), nullable=True),
        sa.Column('password', sa.Text(), nullable=False),
        sa.Column('signing_key', sa.Text(), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=True),
        sa.Column('rate_per_minute', sa.Float(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('last_seen_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('down_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'sms_gateway_sims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('gateway_id', sa.Integer(), nullable=False),
        sa.Column('slot', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('operator', sa.String(length=16), nullable=False),
        sa.Column('price_per_segment', sa.Float(), nullable=False),
        sa.Column('rate_per_minute', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['gateway_id'], ['sms_gateways.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('gateway_id', 'slot', name='uq_sms_gateway_sims_slot'),
    )
    op.create_table(
        'sms_sticky_routes',
        sa.Column('address_id', sa.Integer(), nullable=False),
        sa.Column('sim_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['address_id'], ['addresses.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sim_id'], ['sms_gateway_sims.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('address_id'),
    )


def downgrade() -> None:
    op.drop_table('sms_sticky_routes')
    op.drop_table('sms_gateway_sims')
    op.drop_table('sms_gateways')
