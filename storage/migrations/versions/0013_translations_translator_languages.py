"""translations edited in the console (overrides of the shipped catalogs), translators' languages

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0013'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'translations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('msgid', sa.Text(), nullable=False),
        sa.Column('msgstr', sa.Text(), nullable=False),
        sa.Column('reviewed', sa.Boolean(), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_translations')),
        sa.UniqueConstraint('language', 'msgid', name='uq_translations_language_msgid'),
    )
    with op.batch_alter_table('console_accounts') as batch:
        batch.add_column(sa.Column('languages', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('console_accounts') as batch:
        batch.drop_column('languages')
    op.drop_table('translations')
