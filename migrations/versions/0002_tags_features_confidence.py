"""Tags (the model's, with probability and tagger, and the user's), the tagger's pooled feature of each photo,
each caption's confidence and the way it was chosen, and an index for finding photos the search index lacks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("word", sa.Text(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("tagger_id", sa.Text(), nullable=True),
        sa.Column("removed", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("source IN ('model', 'user')", name="ck_tags_source"),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], name="fk_tags_photo_id_photos", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("photo_id", "source", "word", name="uq_tags_photo_id"),
    )
    op.create_index("ix_tags_word", "tags", ["word"])
    op.create_table(
        "photo_features",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("encoder", sa.Text(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("tagger_id", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name="fk_photo_features_photo_id_photos", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("photo_id", name="pk_photo_features"),
    )
    # `watch` looks for the user's edits every few seconds: finding unsynced photos must not read them all.
    op.create_index("ix_photos_search_synced", "photos", ["search_synced"])
    op.add_column("captions", sa.Column("confidence", sa.Float(), nullable=True))
    op.add_column("photos", sa.Column("date_source", sa.Text(), nullable=True))
    op.add_column("captions", sa.Column("method", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("date_source")
    with op.batch_alter_table("captions") as batch:
        batch.drop_column("method")
        batch.drop_column("confidence")
    op.drop_table("photo_features")
    op.drop_index("ix_photos_search_synced", table_name="photos")
    op.drop_index("ix_tags_word", table_name="tags")
    op.drop_table("tags")
