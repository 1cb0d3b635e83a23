"""The curated notebooks: stored clean, short, and executed top to bottom in a real kernel.

Each notebook runs with nbclient in a separate kernel process (the venv's python) against
(a) the analysed bundled sample and (b) the analysed 2022 Russia-Ukraine sample from
``../shared``. DuckDB lets one process write a file, so the session Workbench is closed before
the kernel opens the same file read-only (``Workbench.con`` reopens lazily afterwards).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.base import config

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]
EXPECTED = [
    "01-overview.ipynb",
    "02-actors.ipynb",
    "03-countries.ipynb",
    "04-themes.ipynb",
    "05-sources-tone-quotes.ipynb",
    "10-new-analysis-template.ipynb",
]
MAX_CELL_LINES = 12


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# --------------------------------------------------------------------------- static checks


def test_the_curated_notebooks_exist():
    assert set(EXPECTED) <= set(NAMES), f"missing: {set(EXPECTED) - set(NAMES)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_is_stored_clean(path: Path):
    nb = _read(path)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has stored outputs"
            assert cell.execution_count is None, f"{path.name}: stored execution count"
        assert set(cell.metadata) <= {"tags"}, f"{path.name}: cell metadata {cell.metadata}"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, nb.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_shape(path: Path):
    """H1 title, a "what this answers" paragraph, a parameters cell, short code cells."""
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), path.name
    assert "answers" in first.source.lower(), f"{path.name}: say what the notebook answers"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "WORKBENCH_DB" in tagged[0].source, path.name
    for cell in nb.cells:
        if cell.cell_type == "code":
            n = len(cell.source.strip().splitlines())
            assert n <= MAX_CELL_LINES, f"{path.name}: {n}-line cell:\n{cell.source}"


def test_no_sql_or_logic_copied_between_notebooks():
    """SQL lives in the package; only the template shows how to write your own."""
    seen: dict[str, str] = {}
    for path in NOTEBOOKS:
        code = [c for c in _read(path).cells if c.cell_type == "code"]
        for cell in code[2:]:  # after the shared parameters + open cells
            if path.name != "10-new-analysis-template.ipynb":
                assert not re.search(r"\bSELECT\b", cell.source, re.I), (path.name, cell.source)
            for line in cell.source.splitlines():
                line = line.strip()
                if len(line) < 40 or line.startswith("#"):
                    continue
                assert seen.setdefault(line, path.name) == path.name, (
                    f"line copied between {seen[line]} and {path.name}: {line}"
                )


def test_notebooks_draw_through_the_chart_library():
    """One chart library: the notebooks chart with ``workbench.present.charts`` (as the report and
    the explorers do), never with Altair directly."""
    for path in NOTEBOOKS:
        for cell in _read(path).cells:
            if cell.cell_type == "code":
                assert not re.search(r"\bimport altair\b|\balt\.", cell.source), (
                    path.name,
                    cell.source,
                )


# --------------------------------------------------------------------------- execution


@pytest.fixture(scope="session")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kernelspec that runs *this* interpreter (the venv's), found first on JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "workbench-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "workbench tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(root))
    yield "workbench-test"
    mp.undo()


def _problems(nb: nbformat.NotebookNode) -> list[str]:
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                out.append(f"cell {i}: {o.ename}: {o.evalue}")
            elif o.output_type == "stream" and o.name == "stderr":
                out.append(f"cell {i} wrote to stderr: {o.text[:500]}")
    return out


def _execute(path: Path, db: Path, kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DB", str(db))  # the kernel inherits it
    nb = _read(path)
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=180,
        allow_errors=True,
        resources={"metadata": {"path": str(config.NOTEBOOKS_DIR)}},
    )
    client.execute()
    problems = _problems(nb)
    assert not problems, f"{path.name} on {db.name}:\n" + "\n".join(problems)
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    ran = [c for c in nb.cells if c.cell_type == "code" and c.execution_count]
    assert len(ran) == n_code, f"{path.name}: {n_code - len(ran)} code cells did not run"
    shown = sum(len(c.outputs) for c in nb.cells if c.cell_type == "code")
    assert shown > 0, f"{path.name} displayed nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_runs_on_the_sample(path, seed_wb, kernel_name, monkeypatch):
    seed_wb.close()  # the kernel is another process: release the write lock first
    _execute(path, seed_wb.path, kernel_name, monkeypatch)


@pytest.mark.shared
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_runs_on_ru_ua_2022(path, ru_ua_wb, kernel_name, monkeypatch):
    ru_ua_wb.close()
    _execute(path, ru_ua_wb.path, kernel_name, monkeypatch)
