"""One on-disk cache of derived data (name indexes, tokenized phrases, library parameters):
``$WORKBENCH_CACHE``, else ``$XDG_CACHE_HOME/coverage-workbench`` (``~/.cache``).

Each entry is rebuilt from its inputs when missing or unreadable, so the folder can be
deleted at any time; a read-only or missing folder only costs the rebuild."""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get("WORKBENCH_CACHE"):
        return Path(os.environ["WORKBENCH_CACHE"])
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "coverage-workbench"


def cached_pickle(path: Path, build: Callable[[], _T]) -> _T:
    """``build()``'s result, pickled at ``path`` so later processes load it instead.

    The file name is ``<prefix>-<16 hex digits>.pickle`` (a hash of what the value is built
    from); after a new one is written, older files of the same prefix are deleted. A
    read-only or missing cache folder keeps the in-memory result."""
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        return value
    _drop_stale(path)
    return value


def _drop_stale(path: Path) -> None:
    """Delete older ``<prefix>-<hash>.pickle`` files beside ``path``."""
    stale = re.compile(re.escape(path.name.rsplit("-", 1)[0]) + r"-[0-9a-f]{16}\.pickle")
    try:
        for old in path.parent.iterdir():
            if old.name != path.name and stale.fullmatch(old.name):
                try:
                    old.unlink()
                except OSError:
                    pass
    except OSError:
        pass
