"""provider media: photos still held at Twilio, to be deleted there; WhatsApp/MMS photos fetched

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 15:40:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'provider_media',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('ref', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ref'),
    )
    op.create_index(
        op.f('ix_provider_media_next_attempt_at'), 'provider_media', ['next_attempt_at'],
        unique=False,
    )
    # WhatsApp/MMS photos kept as Twilio URLs until now: fetched (and deleted at Twilio) from now.
    now = sa.bindparam('now', datetime.now(UTC), type_=storage.types.UTCDateTime(timezone=True))
    op.execute(
        sa.text(
            "UPDATE reports SET media_kind = 'twilio', media_next_attempt_at = :now "
            "WHERE media_kind = 'url' AND media_ref LIKE '%/Messages/%/Media/ME%' "
            "AND media_path IS NULL"
        ).bindparams(now)
    )


def downgrade() -> None:
    op.execute(
        "UPDATE reports SET media_kind = 'url', media_next_attempt_at = NULL "
        "WHERE media_kind = 'twilio' AND media_path IS NULL"
    )
    op.drop_index(op.f('ix_provider_media_next_attempt_at'), table_name='provider_media')
    op.drop_table('provider_media')
