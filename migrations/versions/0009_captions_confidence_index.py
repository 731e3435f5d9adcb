"""An index on the model captions' confidence (with their photo): the web app lists the captions to review, least
confident first, and counts them in every page's navigation (Catalog.captions_to_review). Without it both read
every caption's row (its text, checksums and kept words, a few hundred bytes each) and sort what they find, on
every page; with it they read the unsure captions' entries alone, in order, and a page of the list stops after its
last row. Building it reads the captions once (seconds at a million photos).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_captions_source_confidence", "captions", ["source", "confidence", "photo_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_captions_source_confidence", table_name="captions")
