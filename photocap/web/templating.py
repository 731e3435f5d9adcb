"""The Jinja2 templates shipped in photocap/web/templates, with the filters and values the pages use."""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

from fastapi.templating import Jinja2Templates

from photocap.model.calibration import unsure_below

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def printable(path: str) -> str:
    """A path for a page: bytes of a name that is not UTF-8 shown as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def hundredths_down(confidence: float) -> str:
    """A confidence to two places, rounded down: an unsure 0.497 reads 0.49, never the threshold's 0.50."""
    return f"{math.floor(round(confidence * 100, 6)) / 100:.2f}"  # 0.29 * 100 is 28.999999999999996


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=str(TEMPLATES_DIR))
    found.env.filters["printable"] = printable
    found.env.filters["hundredths_down"] = hundredths_down
    found.env.globals["unsure_below"] = unsure_below()
    return found
