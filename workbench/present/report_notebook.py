"""Render a curated notebook into the same self-contained report page.

Why not nbconvert's HTML exporter: its template loads require.js/MathJax from a CDN, and the
curated notebooks display their charts as ``JupyterChart`` widgets, which an exported page
cannot draw without a kernel. Instead the notebook is executed with nbclient (widget state
stored), and each output becomes a report block: JupyterChart widgets and Vega-Lite outputs
become inline Vega charts (their ``spec`` lives in the widget state), HTML outputs and HTML
widgets are sanitised with nh3 (an allow-list of tags, attributes, CSS properties and
http(s) links), images stay as ``data:`` URIs, text stays text. Markdown is rendered with raw
HTML disabled.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nh3
from markupsafe import Markup

from ..base import config, errors
from ..base.filters import Filter
from .report_data import ReportData
from .report_page import Block, Page, Section, safe_url

if TYPE_CHECKING:
    # Heavy (jsonschema; nbformat and nbclient about 0.5 s): only notebook reports read them.
    import nbformat

    from ..core.workbench import Workbench

VEGALITE_MIMES = (
    "application/vnd.vegalite.v6+json",
    "application/vnd.vegalite.v5+json",
    "application/vnd.vegalite.v4+json",
)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

_TAGS = {
    "a", "abbr", "b", "br", "caption", "code", "col", "colgroup", "dd", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "mark", "ol", "p", "pre",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
_CSS = {
    "background-color", "border", "border-bottom", "border-collapse",
    "border-left", "border-right", "border-top", "color", "display", "font-family",
    "font-size", "font-style", "font-weight", "height", "line-height", "margin",
    "margin-bottom", "margin-left", "margin-right", "margin-top", "max-width", "min-width",
    "overflow", "padding", "padding-bottom", "padding-left", "padding-right", "padding-top",
    "text-align", "text-decoration", "text-overflow", "text-transform", "vertical-align",
    "white-space", "width",
}  # fmt: skip


def _no_css_urls(tag: str, attr: str, value: str) -> str | None:
    """Drop style values that could fetch or evaluate anything (CSP blocks them too)."""
    if attr == "style" and re.search(r"url\s*\(|expression\s*\(|@import", value, re.I):
        return None
    return value


def sanitize_html(html: str) -> Markup:
    """Allow-listed HTML: no scripts, handlers, forms, frames or non-http(s) links."""
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes={
            "*": {"class", "style", "title"},
            "a": {"href"},
            "td": {"colspan", "rowspan"},
            "th": {"colspan", "rowspan"},
        },
        url_schemes={"http", "https"},
        filter_style_properties=_CSS,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_no_css_urls,
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above


def markdown_html(text: str) -> Markup:
    """CommonMark with raw HTML off; link targets pass ``safe_url`` or lose their href."""
    # About 90 ms (markdown-it-py): only notebook reports render Markdown.
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    md.validateLink = lambda url: safe_url(url) is not None or url.startswith("#")  # type: ignore[method-assign]
    return Markup(md.render(text))  # noqa: S704 - raw HTML disabled; markdown-it escapes text


def resolve_notebook(ref: str | os.PathLike[str]) -> Path:
    """A path, a file name in ``notebooks/``, or its number (``1`` -> ``01-*.ipynb``)."""
    p = Path(ref)
    if p.suffix == ".ipynb" and p.exists():
        return p
    folder = config.NOTEBOOKS_DIR
    name = str(ref)
    candidates = [folder / name, folder / f"{name}.ipynb"]
    if name.isdigit():
        candidates += sorted(folder.glob(f"{int(name):02d}-*.ipynb"))
    for c in candidates:
        if c.is_file():
            return c
    found = ", ".join(x.name for x in sorted(folder.glob("*.ipynb"))) or "(none)"
    raise errors.BadOption(
        f"notebook {name!r} not found (looked for a path, and in {folder}); "
        f"available: {found}. Pass a path, a file name or a number such as 1."
    )


@contextlib.contextmanager
def _kernel_env(db: Path) -> Iterator[str]:
    """A kernelspec running this interpreter, and WORKBENCH_DB for the kernel to inherit."""
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "WORKBENCH_DB")}
    with tempfile.TemporaryDirectory(prefix="wb-kernel-") as root:
        spec = Path(root) / "kernels" / "workbench-report"
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec.joinpath("kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": "workbench report", "language": "python"})
        )
        os.environ["JUPYTER_PATH"] = os.pathsep.join(x for x in (root, saved["JUPYTER_PATH"]) if x)
        os.environ["WORKBENCH_DB"] = str(db.resolve())
        try:
            yield "workbench-report"
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def execute_notebook(path: Path, db: Path, timeout: int) -> nbformat.NotebookNode:
    """Run the notebook top to bottom in a fresh kernel against ``db`` (widget state kept)."""
    # Heavy (jsonschema; nbformat and nbclient about 0.5 s): only notebook reports read them.
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with _kernel_env(db) as kernel:
        NotebookClient(
            nb,
            kernel_name=kernel,
            timeout=timeout,
            allow_errors=True,
            store_widget_state=True,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    return nb


class _Outputs:
    """Turns cell outputs (and the widgets they show) into report blocks."""

    def __init__(self, page: Page, section: Section, widget_state: dict[str, Any]) -> None:
        self.page, self.section, self.state = page, section, widget_state

    def add(self, block: Block) -> None:
        self.section.blocks.append(block)

    def widget(self, model_id: str, depth: int = 0) -> bool:
        model = self.state.get(model_id)
        if model is None or depth > 20:
            return False
        st = model.get("state", {})
        if isinstance(st.get("spec"), dict):  # altair.JupyterChart (anywidget)
            self.page.add_chart(self.section, st["spec"])
            return True
        if "HTML" in model.get("model_name", "") and isinstance(st.get("value"), str):
            self.add(Block(kind="html", html=sanitize_html(st["value"])))
            return True
        if isinstance(st.get("children"), list):  # Box, VBox, HBox, Tab, Accordion
            shown = False
            for child in st["children"]:
                if isinstance(child, str) and child.startswith("IPY_MODEL_"):
                    shown |= self.widget(child.removeprefix("IPY_MODEL_"), depth + 1)
            return shown
        return False  # controls (dropdowns, sliders) need a kernel: nothing to show

    def output(self, out: dict[str, Any]) -> None:
        kind = out.get("output_type")
        if kind == "stream":
            self.add(Block(kind="text", text=str(out.get("text", ""))))
            return
        if kind == "error":
            self.add(Block(kind="text", text=f"{out.get('ename')}: {out.get('evalue')}"))
            return
        data = out.get("data", {})
        if WIDGET_MIME in data and self.widget(str(data[WIDGET_MIME].get("model_id", ""))):
            return
        for mime in VEGALITE_MIMES:
            if isinstance(data.get(mime), dict):
                self.page.add_chart(self.section, data[mime])
                return
        png = data.get("image/png")
        if isinstance(png, str) and re.fullmatch(r"[A-Za-z0-9+/=\s]+", png):
            self.add(Block(kind="image", src="data:image/png;base64," + "".join(png.split())))
            return
        if isinstance(data.get("text/html"), str):
            self.add(Block(kind="html", html=sanitize_html(data["text/html"])))
            return
        if "text/plain" in data and WIDGET_MIME not in data:
            self.add(Block(kind="text", text=str(data["text/plain"])))


def notebook_page(
    wb: Workbench,
    ref: str | os.PathLike[str],
    f: Filter,
    *,
    title: str | None = None,
    timeout: int = 600,
) -> Page:
    """Execute a curated notebook on ``wb``'s database and lay its outputs out as a page."""
    if not f.is_empty:
        raise errors.BadOption(
            "filters apply to the built-in template; a notebook report shows what the notebook "
            "computes. Edit the notebook's parameters cell, or use --template overview with "
            "the filter."
        )
    path = resolve_notebook(ref)
    wb.close()  # the kernel is another process: it must be able to open the file
    nb = execute_notebook(path, wb.path, timeout)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})

    data = ReportData(wb, f)
    stamp = data.stamp(f"notebook {path.name} (its own parameters)")
    heading = title
    page = Page(title="", lead="", stamp=stamp)
    section = Section(id="notebook", title=path.stem)
    page.sections.append(section)
    outputs = _Outputs(page, section, state)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            src = cell.source
            if heading is None and src.startswith("# "):
                first, _, rest = src.partition("\n")
                heading = first[2:].strip()
                src = rest
            if src.strip():
                section.blocks.append(Block(kind="markdown", html=markdown_html(src)))
        elif cell.cell_type == "code":
            if cell.source.strip():
                section.blocks.append(Block(kind="code", text=cell.source))
            for out in cell.get("outputs", []):
                outputs.output(out)
    page.title = heading or path.stem
    page.lead = (
        f"Notebook {path.name} executed on {stamp['articles']} articles ({stamp['date_range']}). "
        "Charts are interactive without a kernel; widget controls that need Python are left out."
    )
    section.title = page.title
    return page
