"""Shared fixtures: a throw-away photocap home, synthetic photos drawn with Pillow, the Flickr8k data."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ["web_support", "similar_support"]  # the web app's and similar's fixtures: indexed real photos


@pytest.fixture
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty photocap home; PHOTOCAP_* variables from the developer's shell are cleared."""
    for name in list(os.environ):
        if name.startswith("PHOTOCAP_") and name != "PHOTOCAP_DATA":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PHOTOCAP_HOME", str(home))
    return home


def draw_photo(
    path: str | os.PathLike[str] | bytes,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
    format: str | None = None,
) -> Path | bytes:
    """Write a small synthetic photo (sky, ground, a few shapes) to `path`; `seed` varies its content.

    `path` may be bytes, for file names that are not valid UTF-8. The format follows the extension
    unless `format` is given (e.g. "PNG" into a file named .jpg).
    """
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(80, 200), rng.randrange(120, 230), 255))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((0, height * 2 // 3, width, height), fill=(rng.randrange(40, 120), 140, 60))
    for _ in range(3):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(2, max(3, width // 6))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    name = os.fsdecode(path)
    os.makedirs(os.path.dirname(os.path.abspath(name)) or ".", exist_ok=True)
    with open(path, "wb") as file:
        image.save(file, format=format or _format_for(name))
    return path if isinstance(path, bytes) else Path(path)


def _format_for(name: str) -> str:
    extension = os.path.splitext(name)[1].lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF",
            ".bmp": "BMP", ".gif": "GIF"}.get(extension, "JPEG")


@pytest.fixture
def photo_factory():
    """The draw_photo helper, as a fixture for test files that prefer not to import from conftest."""
    return draw_photo


@pytest.fixture(scope="session")
def flickr_dir() -> Path:
    """The Flickr8k data folder ($PHOTOCAP_DATA, default <repo>/../shared/data/flickr8k), or a skip."""
    data = Path(os.environ.get("PHOTOCAP_DATA") or REPO.parent / "shared" / "data" / "flickr8k")
    if not data.is_dir():
        pytest.skip(f"Flickr8k data not found at {data} (set PHOTOCAP_DATA to its folder)")
    return data
