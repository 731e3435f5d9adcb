"""A Whoosh index writer that writes PackedCodec's blocks (photocap.search.codec) and spills its sorted runs with
PICKLE_PROTOCOL. Kept apart from the codec, which every search loads: whoosh.writing is only for writers."""

from __future__ import annotations

import pickle
from typing import Any

from whoosh.writing import PostingPool, SegmentWriter

from photocap.search.codec import PICKLE_PROTOCOL, PackedCodec


class PackedPostingPool(PostingPool):
    """Whoosh's pool of a writer's postings, spilling its sorted runs with PICKLE_PROTOCOL instead of protocol 2,
    which writes each posting's term and values as calls to `codecs.encode` (a quarter of `rebuild-index`'s time)."""

    def _write_run(self, f: Any, items: list[tuple]) -> None:
        pickler = pickle.Pickler(f, PICKLE_PROTOCOL)
        for item in items:
            pickler.dump(item)
            pickler.clear_memo()  # each item is read back with its own `pickle.load`
        f.close()


def packed_writer(whoosh_index: Any, *, limitmb: int, codec: PackedCodec | None = None,
                  **options: Any) -> SegmentWriter:
    """A Whoosh index writer writing PackedCodec's blocks through a PackedPostingPool."""
    writer = whoosh_index.writer(codec=codec or PackedCodec(), limitmb=limitmb, **options)
    writer.pool = PackedPostingPool(writer._tempstorage, writer.newsegment, limitmb=limitmb)
    return writer
