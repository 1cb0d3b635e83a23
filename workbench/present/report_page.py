"""The report's page model: a page of sections of blocks (charts, tables, notebook pieces),
shared by the overview report and the notebook report (``report_notebook``), below both.

Every table cell is escaped and only http(s) URLs become links (:func:`safe_url`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import altair as alt
from markupsafe import Markup, escape


def safe_url(url: Any) -> str | None:
    """The URL when it is plain http(s) (shown as a link), else None (shown as text)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(c) < 0x21 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


@dataclass
class Cell:
    """One table cell; ``href`` only for http(s) URLs, ``kwic`` = (left, match, right)."""

    text: Any = ""
    cls: str | None = None
    href: str | None = None
    kwic: tuple[str, str, str] | None = None


def cell_html(cell: Cell | Any) -> Markup:
    """``<td>`` for a cell, every piece of text escaped."""
    if not isinstance(cell, Cell):
        cell = Cell(cell)
    cls = Markup(' class="{}"').format(cell.cls) if cell.cls else Markup("")
    if cell.kwic is not None:
        left, match, right = cell.kwic
        return Markup(
            '<td class="left">{}</td><td class="kw"><mark>{}</mark></td><td class="right">{}</td>'
        ).format(left, match, right)
    text = "" if cell.text is None else cell.text
    if isinstance(text, float):
        text = f"{text:,.3f}"
    elif isinstance(text, int):
        text = f"{text:,}"
    href = safe_url(cell.href)
    if href:
        body = Markup('<a href="{}" rel="noopener noreferrer nofollow">{}</a>').format(href, text)
    else:
        body = escape(text)
    return Markup("<td{}>{}</td>").format(cls, body)


@dataclass
class Block:
    """A chart (spec key), a table, or a notebook piece (markdown/code/text/html/image)."""

    kind: str
    key: str = ""
    caption: str = ""
    title: str = ""
    subtitle: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    text: str = ""
    html: Markup = field(default_factory=Markup)
    src: str = ""
    alt: str = ""
    open: bool = False
    cls: str = ""


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    empty: str = ""
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Page:
    """Everything a report page shows; ``specs`` are Vega-Lite dicts keyed by chart id."""

    title: str
    lead: str
    stamp: dict[str, Any]
    sections: list[Section] = field(default_factory=list)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_chart(
        self, section: Section, chart: alt.TopLevelMixin | dict, caption: str = ""
    ) -> None:
        """A ``workbench.present.charts`` chart (validated against the Vega-Lite schema here) or a
        spec already a dict (a notebook's output)."""
        key = f"c{len(self.specs) + 1}"
        self.specs[key] = chart if isinstance(chart, dict) else chart.to_dict()
        section.blocks.append(Block(kind="chart", key=key, caption=caption))
