"""A picture's 64-bit DCT perceptual hash (pHash, as `imagehash.phash` computes it), from an upright image: the
grey 32x32 picture's 2-D DCT, its 8x8 lowest frequencies, a bit per coefficient above their median. A resize, a
re-encode, a format change or a brightness change barely move it.

Indexing computes it from the image it decodes for the captioner anyway (photocap.media.decode, about a millisecond
a photo); `photocap duplicates` computes it for photos indexed before photocap did (photocap.similar.phash).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIDE = 32
LOW = 8
_N = np.arange(SIDE)
DCT = np.cos(np.pi * (2 * _N[None, :] + 1) * _N[:, None] / (2 * SIDE))  # DCT-II basis, unscaled (signs suffice)


def phash_of_upright(image: Image.Image) -> int:
    """The perceptual hash of an upright image, as a signed 64-bit integer (as the catalog keeps it)."""
    grey = image.convert("L").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    coefficients = DCT @ np.asarray(grey, np.float64) @ DCT.T
    low = coefficients[:LOW, :LOW]
    bits = np.packbits((low > np.median(low)).ravel())
    return int.from_bytes(bits.tobytes(), "big", signed=True)
