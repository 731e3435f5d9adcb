"""--precision: what auto, fp32 and bf16 mean on each device, and bf16 captions through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from photocap.cli import main
from photocap.model.captioner import Captioner
from photocap.model.precision import cpu_flags, cpu_has_native_bf16, resolve_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx512f avx512_bf16\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert {"avx512_bf16", "avx512f", "sse2"} <= cpu_flags(cpuinfo)
    assert cpu_flags(tmp_path / "absent") == frozenset()  # not Linux: no flags, so fp32


def test_precisions_resolve_per_device() -> None:
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"  # asked for: given, even where it is emulated
    assert resolve_precision("auto", CPU) == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("auto", CUDA) == resolve_precision("bf16", CUDA) == "fp16"  # autocast as before
    assert resolve_precision("fp32", CUDA) == "fp32"
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        resolve_precision("fp16", CPU)


def test_a_bf16_encoder_hands_the_decoder_an_fp32_grid_close_to_the_fp32_one(flickr_dir: Path) -> None:
    photo = flickr_dir / "Images" / "2654514044_a70a6e2c21.jpg"  # a brown dog running
    from photocap.media.decode import decode_photo

    pixels = np.stack([decode_photo(photo).pixels])
    full = Captioner.load(device="cpu", precision="fp32")
    half = Captioner.load(device="cpu", precision="bf16")
    assert (full.precision, half.precision) == ("fp32", "bf16")
    grid_full, grid_half = full.encode(pixels), half.encode(pixels)
    assert grid_half.dtype == torch.float32
    assert not torch.equal(grid_full, grid_half)  # bf16 really ran
    assert torch.nn.functional.cosine_similarity(grid_full.flatten(), grid_half.flatten(), dim=0) > 0.99
    assert "dog" in half.caption_files([photo])[0].text


def test_precision_comes_from_option_and_config_and_a_bad_one_is_refused(
        flickr_dir: Path, tmp_home: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "dog.jpg").symlink_to(flickr_dir / "Images" / "2654514044_a70a6e2c21.jpg")
    run = CliRunner().invoke(main, ["index", str(library), "--follow-symlinks", "--precision", "bf16", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout.strip().splitlines()[-1])["precision"] == "bf16"

    config = tmp_path / "photocap.toml"
    config.write_text('precision = "fp16"\n')
    refused = CliRunner().invoke(main, ["--config", str(config), "caption", str(library / "dog.jpg")])
    assert refused.exit_code == 2
    assert "precision" in refused.stderr and "auto, fp32, bf16" in refused.stderr
    refused = CliRunner().invoke(main, ["caption", str(library / "dog.jpg"), "--precision", "half"])
    assert refused.exit_code == 2 and "--precision" in refused.stderr
