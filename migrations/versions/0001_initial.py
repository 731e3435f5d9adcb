"""The initial catalog: photos and their captions.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mtime_ns", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("camera_make", sa.Text(), nullable=True),
        sa.Column("camera_model", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("seen", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("search_synced", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'ok', 'error', 'missing')", name="ck_photos_status"),
        sa.PrimaryKeyConstraint("id", name="pk_photos"),
        sa.UniqueConstraint("path", name="uq_photos_path"),
    )
    op.create_index("ix_photos_folder", "photos", ["folder"])
    op.create_index("ix_photos_content_hash", "photos", ["content_hash"])
    op.create_index("ix_photos_status", "photos", ["status"])
    op.create_table(
        "captions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("model_id", sa.Text(), nullable=True),
        sa.Column("model_checksum", sa.Text(), nullable=True),
        sa.Column("words", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("source IN ('model', 'user')", name="ck_captions_source"),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name="fk_captions_photo_id_photos", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_captions"),
        sa.UniqueConstraint("photo_id", "source", name="uq_captions_photo_id"),
    )


def downgrade() -> None:
    op.drop_table("captions")
    op.drop_index("ix_photos_status", table_name="photos")
    op.drop_index("ix_photos_content_hash", table_name="photos")
    op.drop_index("ix_photos_folder", table_name="photos")
    op.drop_table("photos")
