"""The report page: Jinja2 template (autoescaped), CSS and the one bootstrap script.

Kept apart from ``present/report.py`` so the markup can be read as markup: the three live as
files in ``present/templates/`` (``report.html.j2``, ``report.css``, ``report.js``), read once
and exposed here as ``TEMPLATE``, ``CSS`` and ``BOOTSTRAP_JS``. Every value reaches the page
through Jinja2 autoescape; the only raw insertions are the Vega bundle, the bootstrap script
(both hashed into the Content-Security-Policy) and JSON made safe by ``report.script_json``.
"""

from __future__ import annotations

import functools
from pathlib import Path

#: The folder of the page's files; shipped in the wheel as package data (pyproject.toml).
TEMPLATES = Path(__file__).with_name("templates")


@functools.cache
def template_text(name: str) -> str:
    """One file of ``present/templates/``, exactly as written (no newline translation: the
    script's bytes are hashed into the Content-Security-Policy)."""
    return (TEMPLATES / name).read_bytes().decode("utf-8")


#: Renders every chart from the JSON block; no ``eval``: ``ast: true`` makes Vega use its
#: expression interpreter, so the CSP needs no ``'unsafe-eval'``.
BOOTSTRAP_JS = template_text("report.js")

CSS = template_text("report.css")

TEMPLATE = template_text("report.html.j2")
