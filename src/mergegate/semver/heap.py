"""Python's cyclic garbage collector while griffe loads two versions of a package.

griffe keeps every object it builds, so loading a package is a long run of
allocations that all stay alive. At the default first threshold (700) the
collector runs every 700 allocations and, about every hundred runs, rescans
the whole heap it finds alive: on networkx (566 modules, loaded twice) that was more
than half of griffe's time (docs/performance.md). ``relaxed_gc`` raises only
the first threshold while the gate loads and compares: the collector stays on
(reference cycles are still freed, memory is unchanged), it just scans less often.

Gates run concurrently in one process, so the setting is reference-counted: the
first to enter saves the caller's thresholds, the last to leave restores them.
A collector that is off (threshold 0) or already relaxed further is left alone.

``release_griffe_caches`` drops what griffe keeps after a load: its dataclasses
extension memoises every class it sees in an unbounded cache, which keeps both
loaded trees (about 90 MiB for networkx) alive until the process ends.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOAD_THRESHOLD = 20_000  # 10k-50k measured alike on networkx; 700 is Python's default
# griffe's module-level caches keyed by loaded objects: (module, function), where
# griffe 2 keeps them and where griffe 1 did
_GRIFFE_CACHES = (
    ("griffe._internal.extensions.dataclasses", "_dataclass_parameters"),
    ("_griffe.extensions.dataclasses", "_dataclass_parameters"),
)

_lock = threading.Lock()
_holders = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the collector's first threshold to LOAD_THRESHOLD for the ``with`` body."""
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    global _holders, _saved
    with _lock:
        _holders += 1
        if _holders > 1:
            return
        _saved = gc.get_threshold()
        first, *older = _saved
        if 0 < first < LOAD_THRESHOLD:  # 0 means the caller turned collection off
            gc.set_threshold(LOAD_THRESHOLD, *older)


def _leave() -> None:
    global _holders, _saved
    with _lock:
        _holders -= 1
        if _holders or _saved is None:
            return
        gc.set_threshold(*_saved)
        _saved = None


def release_griffe_caches() -> None:
    """Let the trees griffe loaded be freed: clear its caches keyed by loaded objects.

    They are private to griffe, so each is looked up and skipped when absent (another
    griffe version); clearing only costs a recomputation to a load running meanwhile.
    """
    for module_name, name in _GRIFFE_CACHES:
        cached = getattr(sys.modules.get(module_name), name, None)
        clear = getattr(cached, "cache_clear", None)
        if callable(clear):
            clear()
