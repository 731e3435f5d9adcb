"""The history of the user's edits of captions and tags, so that undo works across server restarts, several
steps back, and for edits made with the CLI too. Catalogs from before start with an empty history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("changed", sa.Text(), nullable=False),
        sa.Column("caption_before", sa.Text(), nullable=True),
        sa.Column("tags_before", sa.JSON(), server_default="[]", nullable=False),
        sa.CheckConstraint("origin IN ('cli', 'web')", name="ck_edits_origin"),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], name="fk_edits_photo_id_photos", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_edits"),
    )
    op.create_index("ix_edits_photo_id", "edits", ["photo_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_edits_photo_id", table_name="edits")
    op.drop_table("edits")
