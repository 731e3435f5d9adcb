"""config.example.toml documents every setting and loads as it is."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from photocap.config import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_the_example_config_names_every_setting_and_loads_to_the_defaults(tmp_home: Path) -> None:
    documented = set(re.findall(r"^#? ?([a-z_]+) = ", EXAMPLE.read_text(), flags=re.MULTILINE))
    assert documented == {f.name for f in fields(Settings)}
    settings = load_settings(EXAMPLE)
    assert settings == Settings(home=settings.home)
