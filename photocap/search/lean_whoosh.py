"""Whoosh imported without three modules it never uses here, which cost `photocap search` a fifth of its start-up.

whoosh.compat imports urllib.request (for a download helper no search calls) and whoosh.reading imports the
`cached_property` package (for one property of a segment reader), which imports asyncio: about 40 ms of a
0.3 s search. whoosh.query.terms imports whoosh.lang.morph_en, which compiles some hundred regular expressions
(11 ms) for the Variations query photocap never makes. While those Whoosh modules run their imports, stand-ins
take the modules' places: a `urlretrieve` and a `variations` that import the real module when called, and the
standard library's `functools.cached_property` (the same caching for a plain method). The stand-ins are taken
out of `sys.modules` as soon as the Whoosh module is loaded, so anything importing one of them later gets the real
module; where one is already imported, Whoosh gets the real one too. `install` is called by photocap.search's
`__init__`, before any module of photocap imports Whoosh.
"""

from __future__ import annotations

import functools
import sys
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importlib.abc itself costs 20 ms: the finder and loader are duck-typed
    from collections.abc import Callable
    from importlib.abc import Loader


def _urlretrieve(*args: Any, **kwargs: Any) -> Any:
    from urllib.request import urlretrieve

    return urlretrieve(*args, **kwargs)


def _variations(*args: Any, **kwargs: Any) -> Any:
    from whoosh.lang.morph_en import variations

    return variations(*args, **kwargs)


def _stand_in(name: str, **attributes: Any) -> ModuleType:
    module = ModuleType(name, f"photocap's stand-in for {name} while Whoosh loads (photocap.search.lean_whoosh)")
    module.__dict__.update(attributes)
    return module


STAND_INS: dict[str, dict[str, Callable[[], ModuleType]]] = {
    "whoosh.compat": {"urllib.request": lambda: _stand_in("urllib.request", urlretrieve=_urlretrieve)},
    "whoosh.reading": {"cached_property": lambda: _stand_in("cached_property",
                                                            cached_property=functools.cached_property)},
    "whoosh.query.terms": {"whoosh.lang.morph_en": lambda: _stand_in("whoosh.lang.morph_en", variations=_variations)},
}


class _StandInLoader:
    """Runs a Whoosh module with stand-ins in `sys.modules` for what it imports and never uses."""

    def __init__(self, loader: Loader, stand_ins: dict[str, Callable[[], ModuleType]]) -> None:
        self._loader = loader
        self._stand_ins = stand_ins

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        added = {name: make() for name, make in self._stand_ins.items() if name not in sys.modules}
        sys.modules.update(added)
        try:
            self._loader.exec_module(module)
        finally:
            for name, stand_in in added.items():
                if sys.modules.get(name) is stand_in:
                    del sys.modules[name]

    def __getattr__(self, name: str) -> Any:  # get_source and the like, for tracebacks
        return getattr(self._loader, name)


class _LeanWhooshFinder:
    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in STAND_INS:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _StandInLoader(spec.loader, STAND_INS[fullname])
        return spec


def install() -> None:
    """Put the finder first in `sys.meta_path` (once)."""
    if not any(isinstance(finder, _LeanWhooshFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LeanWhooshFinder())
