"""provider media: the address a photo came from, so that its sender's erasure deletes it there

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_media") as table:
        table.add_column(sa.Column("address_id", sa.Integer(), nullable=True))
        table.create_index("ix_provider_media_address_id", ["address_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provider_media") as table:
        table.drop_index("ix_provider_media_address_id")
        table.drop_column("address_id")
