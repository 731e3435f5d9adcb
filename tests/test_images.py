"""Decoding photos into the captioner's input: every odd kind of image of DESIGN.md section 6."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import draw_photo
from PIL import Image

from photocap.media.decode import INPUT_SIZE, PhotoDecodeError, decode_photo


def png_claiming_size(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height (with no pixel data to match): a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_a_photo_becomes_an_upright_rgb_square_with_its_size(tmp_path: Path) -> None:
    photo = decode_photo(draw_photo(tmp_path / "p.jpg", size=(300, 200)))
    assert photo.pixels.shape == (INPUT_SIZE, INPUT_SIZE, 3) and photo.pixels.dtype == np.uint8
    assert (photo.width, photo.height) == (300, 200)


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 100, 100))  # left half red, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display turned 90 degrees clockwise
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2021:07:14 09:30:00"
    image.save(tmp_path / "rotated.jpg", exif=exif)
    photo = decode_photo(tmp_path / "rotated.jpg")
    assert (photo.width, photo.height) == (100, 200)
    top, bottom = photo.pixels[10, INPUT_SIZE // 2], photo.pixels[-10, INPUT_SIZE // 2]
    assert top[0] > 200 and top[1] < 60  # red went to the top
    assert bottom.min() > 200  # white at the bottom
    assert (photo.camera_make, photo.camera_model) == ("Canon", "Canon EOS 5D")
    assert photo.taken_at is not None and photo.taken_at.isoformat() == "2021-07-14T09:30:00"


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "I;16"])
def test_other_colour_modes_become_rgb(tmp_path: Path, mode: str) -> None:
    source = Image.new("RGB", (64, 64), (200, 30, 30)).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        source = Image.fromarray((np.full((64, 64), 40000)).astype(np.uint16))
    path = tmp_path / ("p.tif" if mode in ("CMYK", "I;16") else "p.png")
    source.save(path)
    photo = decode_photo(path)
    assert photo.pixels.shape == (INPUT_SIZE, INPUT_SIZE, 3)
    assert photo.pixels.max() > 50  # not black: 16-bit scaled, not clipped or zeroed


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    assert decode_photo(tmp_path / "clear.png").pixels.min() == 255


def test_an_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    pixel = decode_photo(tmp_path / "anim.gif").pixels[16, 16]
    assert pixel[0] > 200 and pixel[2] < 50


def test_a_decompression_bomb_is_refused_unloaded(tmp_path: Path) -> None:
    with pytest.raises(PhotoDecodeError, match="refused: image too large"):
        decode_photo(png_claiming_size(tmp_path / "bomb.png", 40_000, 40_000))


def test_a_truncated_jpeg_is_an_error(tmp_path: Path) -> None:
    whole = draw_photo(tmp_path / "whole.jpg", size=(400, 300)).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    with pytest.raises(PhotoDecodeError, match="cannot decode"):
        decode_photo(tmp_path / "cut.jpg")


@pytest.mark.parametrize(("content", "reason"), [(b"", "^empty file$"),
                                                 (b"hello, not a photo", r"^not an image \(the file holds text\)$"),
                                                 (b"\x00\x01binary", r"^not an image \(not JPEG")])
def test_files_that_are_not_images_are_errors(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "x.jpg").write_bytes(content)
    with pytest.raises(PhotoDecodeError, match=reason):
        decode_photo(tmp_path / "x.jpg")


def test_a_file_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PhotoDecodeError, match="^no such file$"):
        decode_photo(tmp_path / "gone.jpg")
