"""Shared helpers for the speed-and-scale benchmarks (issue 6): machine info, inputs, timers.

Every benchmark prints what it ran on (cores, CPU, RAM, load average) and its inputs before
its figures, so a number in ``bench/RESULTS.md`` can be traced to the run that produced it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as ``python bench/x.py`` from anywhere
    sys.path.insert(0, str(REPO))

from workbench.base import config  # noqa: E402

REUTERS = config.SHARED_DIR / "corpora" / "reuters21578"
REUTERS_GLOB = str(REUTERS / "reut2-*.sgm")
RU_UA = config.SHARED_DIR / "corpora" / "ru-ua-2022"
WORK = Path(os.environ.get("WORKBENCH_BENCH_DIR", "/tmp/workbench-bench"))


def need(path: Path) -> Path:
    """Exit with a clear message when a ../shared corpus is missing."""
    if not path.exists():
        print(f"skip: needs {path} (the ../shared corpora are not present)")
        raise SystemExit(0)
    return path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Cores, CPU, RAM, load and library versions: the context every figure needs."""
    import duckdb
    import psutil
    import spacy

    load1, load5, load15 = os.getloadavg()
    return {
        "cores_logical": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "loadavg_1_5_15": (round(load1, 2), round(load5, 2), round(load15, 2)),
        "python": platform.python_version(),
        "spacy": spacy.__version__,
        "duckdb": duckdb.__version__,
        "utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }


def header(name: str, inputs: dict[str, Any]) -> None:
    print(f"== {name}")
    print("machine:", json.dumps(machine()))
    print("inputs: ", json.dumps(inputs, default=str))
    sys.stdout.flush()


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


@contextlib.contextmanager
def timed(out: dict[str, float], key: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        out[key] = time.perf_counter() - t0


def figure(label: str, value: Any, unit: str = "", target: str = "") -> None:
    """One result line: ``figure: label = value unit [target ...]``."""
    val = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
    tgt = f"   [target {target}]" if target else ""
    print(f"figure: {label} = {val} {unit}{tgt}".rstrip())
    sys.stdout.flush()


def pctl(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]
