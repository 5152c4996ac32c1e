"""WhatsApp: each address's last inbound (the 24 h window), synced templates, a broadcast's
templates and fallback choice, and an outbox row's template and fallback

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'whatsapp_templates',
        sa.Column('sid', sa.String(length=34), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('variables', sa.JSON(), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('synced_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index('ix_whatsapp_templates_name_language', 'whatsapp_templates',
                    ['name', 'language'])
    with op.batch_alter_table('addresses') as batch:
        batch.add_column(
            sa.Column('last_inbound_at', storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('broadcasts') as batch:
        batch.add_column(sa.Column('whatsapp', sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column('fallback', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('content_sid', sa.String(length=34), nullable=True))
        batch.add_column(sa.Column('content_variables', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('fallback_from', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('fallback_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('fallback_reason')
        batch.drop_column('fallback_from')
        batch.drop_column('content_variables')
        batch.drop_column('content_sid')
    with op.batch_alter_table('broadcasts') as batch:
        batch.drop_column('fallback')
        batch.drop_column('whatsapp')
    with op.batch_alter_table('addresses') as batch:
        batch.drop_column('last_inbound_at')
    op.drop_index('ix_whatsapp_templates_name_language', table_name='whatsapp_templates')
    op.drop_table('whatsapp_templates')
