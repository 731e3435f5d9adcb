"""Objects the detector found in each photo (table detections), and which detector looked (photos.detector_id).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "detections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], name="fk_detections_photo_id_photos", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_detections"),
    )
    op.create_index("ix_detections_photo_id", "detections", ["photo_id"], unique=False)
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("detector_id", sa.Text(), nullable=True))
        batch.create_index("ix_photos_detector_id", ["detector_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.drop_index("ix_photos_detector_id")
        batch.drop_column("detector_id")
    op.drop_index("ix_detections_photo_id", table_name="detections")
    op.drop_table("detections")
