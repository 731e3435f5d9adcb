"""Where photos were taken (table places): GPS position and place names, with their source. Every photo's files are
read again on the next scan (metadata_stamp NULL), so photos catalogued before get their places.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("county", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("country_code", sa.Text(), nullable=True),
        sa.Column("sublocation", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("source IN ('gps', 'xmp', 'iptc')", name="ck_places_source"),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], name="fk_places_photo_id_photos", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("photo_id", name="pk_places"),
    )
    op.execute("UPDATE photos SET metadata_stamp = NULL")


def downgrade() -> None:
    op.drop_table("places")
