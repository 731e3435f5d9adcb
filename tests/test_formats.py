"""Phone and camera formats (issue 10, part 1): HEIC and AVIF files made with pillow-heif's and Pillow's own
encoders, a DNG written by pidng (real Bayer data that LibRaw demosaics), indexed, searched, shown and exported
through the command line with the shipped model. Other RAW formats (CR2, CR3, NEF, ARW, RAF, ORF, RW2) and
the embedded-preview path of RAW decoding have no real sample file here: see photocap.media.raw."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from click.testing import CliRunner, Result
from conftest import REPO, draw_photo
from PIL import Image
from test_export import images_in_page

from photocap.cli import main
from photocap.media.decode import decode_photo
from photocap.metadata.formats import IMAGE_EXTENSIONS, image_kind

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def phone_photo(path: Path, *, seed: int, taken: str | None = "2022:05:06 07:08:09", xmp: bytes | None = None) -> Path:
    """A HEIC or AVIF (by extension) as a phone saves it: EXIF camera and date, encoded by the real encoders."""
    drawn = draw_photo(path.with_suffix(".png"), size=(160, 120), seed=seed)
    with Image.open(drawn) as image:
        picture = image.convert("RGB")
    drawn.unlink()
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 12"
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    options = {"exif": exif.tobytes()}
    if xmp:
        options["xmp"] = xmp
    picture.save(path, **options)
    return path


def write_dng(path: Path, *, taken: str | None = "2021:03:04 05:06:07", orientation: int = 1) -> Path:
    """A DNG as pidng writes one from a sensor's Bayer data (RGGB, 12 bits): sky above, grass below."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation

    width, height = 160, 120
    sky = np.array([[300, 500], [500, 900]], dtype=np.uint16)
    grass = np.array([[200, 700], [700, 150]], dtype=np.uint16)
    data = np.where(np.arange(height)[:, None] < height * 2 // 3, np.tile(sky, (height // 2, width // 2)),
                    np.tile(grass, (height // 2, width // 2))).astype(np.uint16)
    tags = DNGTags()
    for tag, value in [(Tag.ImageWidth, width), (Tag.ImageLength, height), (Tag.TileWidth, width),
                       (Tag.TileLength, height), (Tag.Orientation, orientation), (Tag.SamplesPerPixel, 1),
                       (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
                       (Tag.BitsPerSample, 12), (Tag.CFARepeatPatternDim, [2, 2]), (Tag.CFAPattern, CFAPattern.RGGB),
                       (Tag.BlackLevel, 64), (Tag.WhiteLevel, 4095),
                       (Tag.ColorMatrix1, [[10000, 10000], [0, 10000], [0, 10000], [0, 10000], [10000, 10000],
                                           [0, 10000], [0, 10000], [0, 10000], [10000, 10000]]),
                       (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
                       (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]), (Tag.Make, "Canon"),
                       (Tag.Model, "Canon EOS 5D"), (Tag.DNGVersion, DNGVersion.V1_4),
                       (Tag.DNGBackwardVersion, DNGVersion.V1_2), (Tag.PreviewColorSpace, 2)]:
        tags.set(tag, value)
    if taken:
        tags.set(Tag.DateTimeOriginal, taken)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = RAW2DNG()
    writer.options(tags, path=str(path.parent), compress=False)
    writer.convert(data, filename=path.stem)
    assert path.is_file()
    return path


def test_phone_and_raw_formats_are_recognised_and_decoded(tmp_path: Path) -> None:
    heic = phone_photo(tmp_path / "phone.heic", seed=1)
    avif = phone_photo(tmp_path / "phone.avif", seed=2)
    dng = write_dng(tmp_path / "camera.dng")
    portrait = write_dng(tmp_path / "portrait.dng", orientation=6)  # the camera held upright: turn 90° clockwise
    for path, kind in [(heic, "heif"), (avif, "avif"), (dng, "raw")]:
        assert image_kind(path.read_bytes()[:64], str(path)) == kind
    assert image_kind(dng.read_bytes()[:64]) == "tiff"  # a RAW file is TIFF inside: its name tells them apart
    assert {".heic", ".heif", ".avif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf",
            ".rw2"} <= IMAGE_EXTENSIONS

    for path in (heic, avif):
        decoded = decode_photo(path)
        assert decoded.pixels.shape == (224, 224, 3)
        assert (decoded.camera_make, decoded.camera_model, decoded.date_source) == ("Apple", "iPhone 12", "exif")

    # LibRaw's decode runs OpenMP threads, which a process forked afterwards (a decode worker) would inherit
    # broken: RAW data is decoded in a process of its own, as photocap's decode workers do.
    script = textwrap.dedent(f"""
        import json
        from photocap.media.decode import PhotoDecodeError, decode_photo
        decoded = decode_photo({str(dng)!r})
        top, bottom = decoded.pixels[20].mean(axis=0), decoded.pixels[210].mean(axis=0)
        upright = decode_photo({str(portrait)!r})
        left, right = upright.pixels[:, 10].mean(axis=0), upright.pixels[:, 213].mean(axis=0)
        try:
            decode_photo({str(tmp_path / "broken.dng")!r})
            broken = None
        except PhotoDecodeError as error:
            broken = str(error)
        print(json.dumps({{"shape": decoded.pixels.shape, "camera": [decoded.camera_make, decoded.camera_model],
                          "date": [str(decoded.taken_at), decoded.date_source], "top": top.tolist(),
                          "bottom": bottom.tolist(), "broken": broken, "left": left.tolist(),
                          "right": right.tolist(), "size": [upright.width, upright.height]}}))
    """)
    (tmp_path / "broken.dng").write_bytes(dng.read_bytes()[:300])
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    decoded = json.loads(run.stdout)
    assert decoded["shape"] == [224, 224, 3] and decoded["camera"] == ["Canon", "Canon EOS 5D"]
    assert decoded["date"] == ["2021-03-04 05:06:07", "exif"]
    top, bottom = decoded["top"], decoded["bottom"]
    assert top[2] > top[1] and bottom[1] > bottom[2]  # LibRaw demosaiced it: blue sky above, green grass below
    assert decoded["broken"].startswith("cannot read this RAW file")
    left, right = decoded["left"], decoded["right"]
    assert right[2] > right[1] and left[1] > left[2]  # turned upright once: the sky is on the right
    assert decoded["size"][0] < decoded["size"][1]


def test_heic_avif_and_dng_are_indexed_searched_shown_and_exported_with_sidecars(tmp_home: Path,
                                                                                 tmp_path: Path) -> None:
    library = tmp_path / "photos"
    heic = phone_photo(library / "IMG_0001.HEIC", seed=1)
    avif = phone_photo(library / "phone.avif", seed=2)
    dng = write_dng(library / "raw" / "camera.dng")
    (library / "notes.heic").write_text("not a photo at all")
    before = {path: path.read_bytes() for path in (heic, avif, dng)}

    run = photocap(tmp_home, "index", str(library), "--json")
    summary = json.loads(run.stdout)
    assert (summary["new"], summary["captioned"], summary["new_errors"]) == (3, 3, 1), summary
    assert summary["new_failed"] == [{"path": str(library / "notes.heic"),
                                      "error": "not an image (the file holds text)"}]
    assert run.exit_code == 3  # the broken file is listed; the others are indexed

    shown = {s["path"]: s for s in json_lines(photocap(tmp_home, "show", str(heic), str(avif), str(dng),
                                                       "--json").stdout)}
    assert shown[str(heic)]["camera"] == "Apple iPhone 12" and shown[str(dng)]["camera"] == "Canon EOS 5D"
    assert (shown[str(heic)]["taken_at"], shown[str(heic)]["date_source"]) == ("2022-05-06 07:08:09", "exif")
    assert (shown[str(dng)]["taken_at"], shown[str(dng)]["date_source"]) == ("2021-03-04 05:06:07", "exif")
    for path in (heic, avif, dng):
        caption = shown[str(path)]["caption"]
        assert shown[str(path)]["status"] == "ok" and caption
        found = [hit["path"] for hit in json_lines(photocap(tmp_home, "search", caption, "--json").stdout)]
        assert str(path) in found

    out = tmp_path / "out"
    run = photocap(tmp_home, "export", str(heic), str(dng), "--to", str(out), "--json")
    assert run.exit_code == 0, run.output
    exported = {item["source"]: item for item in json_lines(run.stdout)}
    for path in (heic, dng):
        copy = out / path.name
        assert copy.read_bytes() == before[path]  # never rewritten ...
        assert exported[str(path)]["sidecar"] == str(copy) + ".xmp"  # ... the alt text is beside it
        assert shown[str(path)]["caption"] in (out / (path.name + ".xmp")).read_text()
    assert "never rewritten" in run.stderr
    assert {path: path.read_bytes() for path in before} == before

    # The HTML manifest shows every photo: a HEIC as a small preview inside the page, an AVIF as itself.
    page = tmp_path / "page.html"
    run = photocap(tmp_home, "export", str(heic), str(avif), "--manifest", "html", "--manifest-file", str(page))
    assert run.exit_code == 0, run.output
    previews = [src for src, _alt in images_in_page(page) if src.startswith("data:image/webp;base64,")]
    files = [src for src, _alt in images_in_page(page) if not src.startswith("data:")]
    assert files == [os.path.relpath(avif, tmp_path)] and len(previews) == 1
    with Image.open(io.BytesIO(base64.b64decode(previews[0].split(",", 1)[1]))) as preview:
        assert preview.format == "WEBP" and max(preview.size) <= 320 and preview.width > preview.height

    # The round trip: the copies, indexed, are found by the text exported beside them.
    run = photocap(tmp_home, "index", str(out), "--json")
    assert json.loads(run.stdout)["new"] == 2, run.output
    copies = {s["path"]: s for s in json_lines(photocap(tmp_home, "show", str(out / heic.name), str(out / dng.name),
                                                        "--json").stdout)}
    assert copies[str(out / heic.name)]["caption_origin"] == f"XMP sidecar {heic.name}.xmp"
    assert copies[str(out / dng.name)]["caption"] == shown[str(dng)]["caption"]


def test_index_help_lists_the_supported_types(tmp_home: Path) -> None:
    text = " ".join(photocap(tmp_home, "index", "--help").stdout.split())
    for name in ("HEIC/HEIF", "AVIF", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", "WebP"):
        assert name in text
