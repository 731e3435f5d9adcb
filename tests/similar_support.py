"""What the tests of `photocap similar` and `photocap duplicates` share: a library of real Flickr8k photos with
altered copies of two of them (smaller and re-encoded; a PNG), indexed by the real model once per test module."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from photocap.cli import main

# Two dogs in snow, a man in a pool, a crowd, a child on a hill, dogs on the beach, a girl and a dog, ...
FLICKR = ["3385593926_d3e9c21170.jpg", "2677656448_6b7e7702af.jpg", "311146855_0b65fdb169.jpg",
          "1258913059_07c613f7ff.jpg", "1000268201_693b08cb0e.jpg", "1001773457_577c3a7d70.jpg",
          "1002674143_1b742ab4b8.jpg", "1003163366_44323f5815.jpg"]
DOGS_ON_BEACH = "1001773457_577c3a7d70.jpg"
CHILD = "1000268201_693b08cb0e.jpg"


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(run: Result) -> list[dict]:
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def half_size_copy(source: Path, target: Path, quality: int = 70) -> Path:
    with Image.open(source) as image:
        image.resize((image.width // 2, image.height // 2), Image.LANCZOS).save(target, quality=quality)
    return target


def build_library(images: Path, library: Path) -> None:
    """FLICKR copied into `library`, plus `copies/`: the beach dogs half size at JPEG quality 70 and as PNG, and
    the child byte for byte."""
    library.mkdir(parents=True)
    for name in FLICKR:
        shutil.copy2(images / name, library / name)
    copies = library / "copies"
    copies.mkdir()
    half_size_copy(images / DOGS_ON_BEACH, copies / "beach_small.jpg")
    with Image.open(images / DOGS_ON_BEACH) as image:
        image.save(copies / "beach.png")
    shutil.copy2(images / CHILD, copies / "child_copy.jpg")


@pytest.fixture(scope="module")
def similar_library(tmp_path_factory: pytest.TempPathFactory, flickr_dir: Path) -> tuple[Path, Path]:
    """(home, library), indexed by `photocap index` (the vector index is made by it too)."""
    scratch = tmp_path_factory.mktemp("similar")
    library, home = scratch / "library", scratch / "home"
    build_library(flickr_dir / "Images", library)
    run = photocap(home, "index", str(library), "--workers", "0")
    assert run.exit_code == 0, run.output
    return home, library


@pytest.fixture
def home_copy(similar_library: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the indexed home, for a test that changes it (the photos stay where they are)."""
    copy = tmp_path / "home"
    shutil.copytree(similar_library[0], copy)
    return copy
