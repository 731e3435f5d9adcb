"""What photos' files already say: captions and keywords read from XMP, IPTC and EXIF (embedded or in
sidecars), with their source, and the stamp of the sidecars read, so a scan re-reads a photo's metadata when
its sidecar changes. Photos catalogued before this have no stamp: the next index run reads their metadata.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "written_metadata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("field IN ('caption', 'keyword')", name="ck_written_metadata_field"),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name="fk_written_metadata_photo_id_photos", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_written_metadata"),
        sa.UniqueConstraint("photo_id", "field", "text", name="uq_written_metadata_photo_id"),
    )
    op.add_column("photos", sa.Column("metadata_stamp", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("metadata_stamp")
    op.drop_table("written_metadata")
