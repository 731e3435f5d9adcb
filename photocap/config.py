"""Settings: defaults, then a TOML file, then PHOTOCAP_* environment variables, then command-line options.

The TOML file is the one given with `--config FILE`, else `<home>/config.toml` when it exists. Every key is
documented, with its default, in `config.example.toml` at the root of the repository.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")  # photocap.model.precision, which needs torch
ENGINES = ("builtin", "ray")  # photocap.indexing.worker, photocap.indexing.ray_engine
ENV_PREFIX = "PHOTOCAP_"


class ConfigError(Exception):
    """A setting that cannot be used; the message says which one and why, in one line."""


def default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "photocap"


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    device: str = "auto"
    precision: str = "auto"  # the encoder's number format (photocap.model.precision)
    batch_size: int = 32
    workers: int = field(default_factory=default_workers)
    beam_size: int = 3
    model: str | None = None  # name of a shipped model; None means the default one
    encoder_weights: Path | None = None  # for a model whose encoder weights photocap does not install
    follow_symlinks: bool = False
    index_thumbnails: bool = False  # make serve's thumbnails while indexing (off: made when first shown)
    engine: str = "builtin"  # who captions: this process's decoding pool, or a Ray cluster
    ray_address: str | None = None  # the Ray cluster to join; None starts a local Ray for the run
    ship_bytes: bool = False  # Ray: photos read on the driver's node and sent, not read by the workers
    detect: bool = True  # the COCO object detector looks at each photo (tags, search, the caption check)
    detector_size: int = 384  # its input, px a side (a multiple of 32)
    alt_text_place: bool = False  # export: end the alt text with where the photo was taken ("... in Lisbon, Portugal")

    @property
    def detector_input(self) -> int | None:
        """The size the detector looks at photos at, or None with detection off."""
        return self.detector_size if self.detect else None

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.db"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"


_KEYS = {f.name for f in fields(Settings)}


def load_settings(config_file: Path | None = None, home: Path | None = None, **overrides: Any) -> Settings:
    """Settings from, lowest precedence first: defaults, TOML file, environment, `home` and `overrides`.

    Overrides whose value is None are ignored (an option the user did not give). `config_file` must exist;
    without it `<home>/config.toml` is read when present.
    """
    unknown = sorted(set(overrides) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    cli = {key: value for key, value in overrides.items() if value is not None}
    if home is not None:
        cli["home"] = home
    env = _from_environment()

    file_values: dict[str, Any] = {}
    file_name = "config file"
    if config_file is not None:
        file_name = str(config_file)
        file_values = _read_toml(Path(config_file))
    resolved_home = default_home()
    for source_name, source in ((file_name, file_values), ("environment", env), ("command line", cli)):
        if "home" in source:
            resolved_home = _check("home", source["home"], source_name)
    if config_file is None:
        home_config = resolved_home / "config.toml"
        if home_config.is_file():
            file_name = str(home_config)
            file_values = _read_toml(home_config)
            if "home" in file_values:
                raise ConfigError(f"{home_config}: 'home' cannot be set in the home folder's own config.toml")

    values: dict[str, Any] = {}
    for source_name, source in ((file_name, file_values), ("environment", env), ("command line", cli)):
        for key, value in source.items():
            if key != "home":
                values[key] = _check(key, value, source_name)
    values["home"] = resolved_home
    return replace(Settings(), **values)


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's settings; relative paths in it are taken from its folder, not from the current one."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    for key in ("home", "encoder_weights"):
        if isinstance(data.get(key), str):
            data[key] = path.parent / Path(data[key]).expanduser()
    return data


def _from_environment() -> dict[str, Any]:
    """PHOTOCAP_<KEY> variables, still as strings; empty ones count as unset."""
    values: dict[str, Any] = {}
    for key in _KEYS:
        raw = os.environ.get(ENV_PREFIX + key.upper(), "")
        if raw != "":
            values[key] = raw
    return values


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _check(key: str, value: Any, source: str) -> Any:
    """`value` converted to the type of setting `key` (strings from the environment are parsed)."""
    if source == "environment":
        where = f"{ENV_PREFIX}{key.upper()}"
    elif source == "command line":
        where = f"--{key.replace('_', '-')}"
    else:
        where = f"{source}: {key}"
    if key == "home":
        if not isinstance(value, str | os.PathLike):
            raise ConfigError(f"{where}: expected a folder path, got {value!r}")
        return Path(value).expanduser().absolute()
    if key in ("device", "precision", "engine"):
        choices = {"device": DEVICES, "precision": PRECISIONS, "engine": ENGINES}[key]
        if value not in choices:
            raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
        return value
    if key in ("batch_size", "workers", "beam_size", "detector_size"):
        if isinstance(value, str) and source == "environment":
            try:
                value = int(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a whole number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        minimum = 0 if key == "workers" else 1
        if value < minimum:
            raise ConfigError(f"{where}: must be at least {minimum}, got {value}")
        if key == "detector_size" and (value % 32 or not 128 <= value <= 1024):
            raise ConfigError(f"{where}: must be a multiple of 32 from 128 to 1024, got {value}")
        return value
    if key == "encoder_weights":
        if not isinstance(value, str | os.PathLike):
            raise ConfigError(f"{where}: expected a file path, got {value!r}")
        path = Path(value).expanduser().absolute()
        if not path.is_file():
            raise ConfigError(f"{where}: no such file: {path}")
        return path
    if key == "model":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a model name, got {value!r}")
        return value or None
    if key == "ray_address":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a Ray address (host:port or ray://host:port), got {value!r}")
        return value or None
    if key in ("follow_symlinks", "index_thumbnails", "ship_bytes", "detect", "alt_text_place"):
        if isinstance(value, str) and source == "environment":
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    raise ConfigError(f"unknown setting {key!r}")
