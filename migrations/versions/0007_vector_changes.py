"""A log of the photos whose kept feature changed (table vector_changes), written by triggers, so that the
vector index of `photocap similar` (photocap.similar) knows what to update, whoever changed the catalog; and the
perceptual hashes `photocap duplicates` computes, by content hash (table perceptual_hashes).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each names the photo whose vector may have changed: a feature written, rewritten or deleted, a photo whose
# status changed (a missing photo drops out of `similar`, a restored one comes back), a photo forgotten.
TRIGGERS = {
    "vector_change_on_feature_insert": "AFTER INSERT ON photo_features BEGIN "
    "INSERT INTO vector_changes (photo_id) VALUES (NEW.photo_id); END",
    "vector_change_on_feature_update": "AFTER UPDATE OF vector, encoder ON photo_features BEGIN "
    "INSERT INTO vector_changes (photo_id) VALUES (NEW.photo_id); END",
    "vector_change_on_feature_delete": "AFTER DELETE ON photo_features BEGIN "
    "INSERT INTO vector_changes (photo_id) VALUES (OLD.photo_id); END",
    "vector_change_on_status": "AFTER UPDATE OF status ON photos WHEN OLD.status IS NOT NEW.status BEGIN "
    "INSERT INTO vector_changes (photo_id) VALUES (NEW.id); END",
    "vector_change_on_photo_delete": "AFTER DELETE ON photos BEGIN "
    "INSERT INTO vector_changes (photo_id) VALUES (OLD.id); END",
}


def upgrade() -> None:
    op.create_table(
        "vector_changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_vector_changes"),
        sqlite_autoincrement=True,
    )
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.create_table(
        "perceptual_hashes",
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("phash", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("content_hash", name="pk_perceptual_hashes"),
    )


def downgrade() -> None:
    op.drop_table("perceptual_hashes")
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("vector_changes")
