"""erasure suppression: keyed hashes of the addresses of people who erased themselves

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-01 16:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasure_suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("erased_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index(
        op.f("ix_erasure_suppressions_erased_on"),
        "erasure_suppressions",
        ["erased_on"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_erasure_suppressions_erased_on"), table_name="erasure_suppressions")
    op.drop_table("erasure_suppressions")
