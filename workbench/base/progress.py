"""Progress bars that work in a terminal and in Jupyter, and stay quiet when asked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def progress_bar(
    *, desc: str, unit: str, total: int | None = None, enable: bool = True
) -> Iterator[Any]:
    # tqdm.auto probes for Jupyter widgets and imports asyncio (about 0.2 s): only when a bar
    # is shown; a hidden bar is the plain one (the same methods, nothing drawn).
    if enable:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm

    bar = tqdm(
        desc=desc, unit=unit, total=total, disable=not enable, dynamic_ncols=True, mininterval=0.5
    )
    try:
        yield bar
    finally:
        bar.close()
