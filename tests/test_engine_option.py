"""The engine settings (`--engine`, `--ray-address`, `--ship-bytes` and their config keys), and `--engine ray`
where Ray is not installed: one line saying what to install, exit 2, before anything is read or written."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, draw_photo

from photocap.cli import main
from photocap.config import ConfigError, load_settings

# `photocap index --engine ray` in a process where `import ray` finds nothing, as where it is not installed.
WITHOUT_RAY = textwrap.dedent("""
    import sys
    from importlib.abc import MetaPathFinder

    class NoRay(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "ray" or name.startswith("ray."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoRay())
    from photocap.cli import main
    main(["--home", sys.argv[1], "index", sys.argv[2], *sys.argv[3:]])
""")


@pytest.mark.parametrize("how", [["--engine", "ray"], ["--config", "engine.toml"]])
def test_engine_ray_without_ray_is_one_line_saying_what_to_install(tmp_path: Path, how: list[str]) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "engine.toml").write_text('engine = "ray"\n')
    args = [str(tmp_path / "home"), str(tmp_path / "photos")]
    if how[0] == "--config":  # a global option: before the command
        script = WITHOUT_RAY.replace('main(["--home"', 'main(["--config", "engine.toml", "--home"')
    else:
        script, args = WITHOUT_RAY, [*args, *how]
    run = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == "Error: --engine ray needs Ray, which is not installed: pip install 'photocap[ray]'"
    assert not (tmp_path / "home" / "catalog.db").exists()


def test_engine_settings_are_checked(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, engine="ray", ray_address="127.0.0.1:6379", ship_bytes=True)
    assert (settings.engine, settings.ray_address, settings.ship_bytes) == ("ray", "127.0.0.1:6379", True)
    assert load_settings(home=tmp_path).engine == "builtin"
    with pytest.raises(ConfigError, match="--engine: expected one of builtin, ray"):
        load_settings(home=tmp_path, engine="spark")


def test_ray_options_without_engine_ray_are_refused(tmp_home: Path, tmp_path: Path) -> None:
    for option in (["--ray-address", "127.0.0.1:6379"], ["--ship-bytes"]):
        run = CliRunner().invoke(main, ["index", str(tmp_path), *option])
        assert run.exit_code == 2 and "--ray-address and --ship-bytes go with --engine ray" in run.stderr


def test_a_ray_address_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev,resnet]' installs it)")
    draw_photo(tmp_path / "photos" / "a.jpg", size=(120, 90))
    run = subprocess.run([sys.executable, "-m", "photocap.cli", "--home", str(tmp_path / "home"), "index",
                          str(tmp_path / "photos"), "--engine", "ray", "--ray-address", "127.0.0.1:1"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == "Error: cannot reach the Ray cluster at 127.0.0.1:1: Connection refused"
