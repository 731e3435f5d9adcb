"""Whoosh's W3 codec with postings blocks that unpickle as a few byte strings instead of one object per posting.

Whoosh pickles each block of up to 128 postings with pickle protocol 2: the document numbers and weights as
tuples of Python numbers, and a caption's word positions as one bytes object per posting, which protocol 2 can
only write as a call to `codecs.encode` on a latin-1 string. Reading a million-photo library's sentence query
back (half a million postings) took 0.6 s of unpickling and decompressing (docs/SCALE.md). Here a block holds
the same three things as `array.array`s and one byte string with the values' end offsets, pickled with protocol
4, in which each is one piece of bytes. Whoosh's own reader reads these blocks unchanged: it indexes and
iterates the numbers and values, which arrays and `PackedValues` allow. Only writing changes, so an index
written before reads as before, and `photocap rebuild-index` brings it to the new blocks.

Every search unpickles PackedCodec with the index's table of contents, so this module imports nothing a search
does not already load; the writer's side is photocap.search.packed_writer.
"""

from __future__ import annotations

import pickle
import zlib
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, overload

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3PostingsWriter
from whoosh.util.numeric import length_to_byte

PICKLE_PROTOCOL = 4
# Postings per block (Whoosh's default is 128): reading a block costs some tens of microseconds whatever its size,
# and a common word at a million photos has a thousand blocks per segment (docs/SCALE.md).
POSTINGS_PER_BLOCK = 1024


class PackedValues(Sequence[bytes]):
    """A block's per-posting values (a word's positions in a caption) as one byte string and end offsets."""

    def __init__(self, blob: bytes, ends: array) -> None:
        self._blob = blob
        self._ends = ends

    @classmethod
    def of(cls, values: Sequence[bytes]) -> PackedValues:
        ends, end = array("I"), 0
        for value in values:
            end += len(value)
            ends.append(end)
        return cls(b"".join(values), ends)

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self._ends):
            raise IndexError(index)
        start = self._ends[index - 1] if index else 0
        return self._blob[start: self._ends[index]]

    def __iter__(self) -> Iterator[bytes]:
        start = 0
        for end in self._ends:
            yield self._blob[start:end]
            start = end

    def __reduce__(self) -> tuple[Any, ...]:
        return PackedValues, (self._blob, self._ends)


def _smallest_unsigned(numbers: Sequence[int]) -> array:
    largest = max(numbers, default=0)
    typecode = "B" if largest < 1 << 8 else "H" if largest < 1 << 16 else "I"
    return array(typecode, numbers)


class PackedPostingsWriter(W3PostingsWriter):
    def _mini_ids(self) -> Any:
        ids = super()._mini_ids()  # delta-encoded document numbers; term numbers (byte ids) for vectors
        return ids if self._byteids else _smallest_unsigned(ids)

    def _mini_weights(self) -> Any:
        weights = super()._mini_weights()  # None (all 1.0), one float (all the same), or one per posting
        return array("f", weights) if isinstance(weights, tuple) else weights

    def _mini_values(self) -> Any:
        values = super()._mini_values()
        return PackedValues.of(values) if isinstance(values, tuple) and values else values

    def _write_block(self, last: bool = False) -> None:
        """Whoosh's `_write_block`, with the block pickled with PICKLE_PROTOCOL."""
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        data = pickle.dumps((self._mini_ids(), self._mini_weights(), self._mini_values()), PICKLE_PROTOCOL)
        compression = self._compression
        if compression:
            data = zlib.compress(data, compression)
        ids = self._ids
        info = pickle.dumps((len(ids), ids[-1], self._maxweight, compression, length_to_byte(self._minlength),
                             length_to_byte(self._maxlength)), 2)
        block_length = len(info) + len(data)
        self._postfile.write_int(-block_length if last else block_length)
        self._postfile.write(info)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()


class PackedCodec(W3Codec):
    """W3Codec writing PackedPostingsWriter's blocks; it reads as W3Codec does."""

    def __init__(self, blocklimit: int = POSTINGS_PER_BLOCK, compression: int = 3, inlinelimit: int = 1) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> PackedPostingsWriter:
        return PackedPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                    compression=self._compression, inlinelimit=self._inlinelimit)

