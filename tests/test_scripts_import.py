"""Every training script and benchmark imports: they are run by hand, so a renamed name would otherwise only
show when someone next runs them."""

from __future__ import annotations

import importlib

import pytest
from conftest import REPO

SCRIPTS = sorted(f"{folder}.{path.stem}" for folder in ("train", "benchmarks")
                 for path in (REPO / folder).glob("*.py") if path.stem != "__init__")


@pytest.mark.parametrize("module", SCRIPTS)
def test_script_imports(module: str) -> None:
    assert importlib.import_module(module).__doc__, f"{module} says nowhere how to run it"
