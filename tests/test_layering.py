"""The package layout is the architecture: each room imports only the rooms below it.

Each subpackage's `__init__.py` declares MAY_IMPORT, the parts of photocap it may import besides itself; the
top-level modules' rules are below. Read with `ast`, so nothing is imported (and a lazy import inside a function
counts as much as one at the top).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "photocap"
BASE = ("config", "lock", "atomic", "wording")
BELOW_COMMANDS = ("search", "catalog", "model", "media", "metadata", *BASE)
TOP_LEVEL_MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "cli": ("*",),
    "export": BELOW_COMMANDS,
    "show": BELOW_COMMANDS,
    "status": BELOW_COMMANDS,
    "edits": BELOW_COMMANDS,
    "config": (),
    "lock": (),
    "atomic": (),
    "wording": (),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def photocap_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every photocap module `path` imports, `from photocap import x` read as photocap.x."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in ("photocap", *(f"photocap.{p}" for p in packages())):
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"{path}:{node.lineno}: relative import; photocap imports by full name")
    return [(line, name) for line, name in found if name.startswith("photocap.")]


def packages() -> list[str]:
    return sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


def declared_may_import(package: str) -> tuple[str, ...]:
    tree = ast.parse((PACKAGE / package / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["MAY_IMPORT"]:
            return tuple(ast.literal_eval(node.value))
    pytest.fail(f"photocap/{package}/__init__.py declares no MAY_IMPORT")


def room_of(module: str) -> str:
    """photocap.catalog.store -> catalog; photocap.cli -> cli."""
    return module.split(".")[1]


def allowed(target: str, rules: tuple[str, ...]) -> bool:
    """`target` (photocap.model.tag_vocabulary) is allowed by a rule naming its room (model) or the module itself
    (model.tag_vocabulary)."""
    relative = target.removeprefix("photocap.")
    return "*" in rules or any(relative == rule or relative.startswith(rule + ".") for rule in rules)


def layering_violations(root: Path = PACKAGE) -> list[str]:
    rules = {package: declared_may_import(package) for package in packages()} | TOP_LEVEL_MAY_IMPORT
    violations = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path)
        room = room_of(module) if module != "photocap" else None
        if room is None or room == "migrations":
            continue
        if room not in rules:
            violations.append(f"{path.relative_to(root.parent)}: a module with no layering rule; add it to "
                              f"TOP_LEVEL_MAY_IMPORT or put it in a package")
            continue
        for line, target in photocap_imports(path):
            if room_of(target) != room and not allowed(target, rules[room]):
                violations.append(f"{path.relative_to(root.parent)}:{line}: {room} may not import {target}")
    return violations


def test_every_import_in_photocap_keeps_to_the_layers() -> None:
    assert layering_violations() == []


def test_a_forbidden_import_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The check itself can fail: a copy of the package where the catalog reaches up into search.
    import shutil

    copy = tmp_path / "photocap"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("assets", "__pycache__", "static", "templates"))
    rows = copy / "catalog" / "rows.py"
    rows.write_text(rows.read_text() + "\n\ndef _late() -> None:\n    from photocap.search.index import SearchIndex\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", copy)
    violations = layering_violations(copy)
    assert len(violations) == 1
    assert "photocap/catalog/rows.py" in violations[0]
    assert "catalog may not import photocap.search.index" in violations[0]


def test_every_package_says_what_it_is_for() -> None:
    for package in packages():
        docstring = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
        assert docstring and len(docstring.split()) >= 20, f"photocap/{package}/__init__.py needs a docstring"


@pytest.mark.parametrize("module", ["photocap.catalog.store", "photocap.search.library", "photocap.search.sync",
                                    "photocap.show", "photocap.status", "photocap.metadata.read",
                                    "photocap.similar.neighbours"])
def test_reading_rooms_never_load_torch(module: str) -> None:
    # search, show and status answer in a fraction of a second because they never pay torch's start-up.
    code = f"import sys, {module}; print('torch' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
