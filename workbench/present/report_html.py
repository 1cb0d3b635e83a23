"""The report page: Jinja2 template (autoescaped), CSS and the one bootstrap script.

Kept apart from ``present/report.py`` so the markup can be read as markup. Every value reaches the
page through Jinja2 autoescape; the only raw insertions are the Vega bundle, the bootstrap
script (both hashed into the Content-Security-Policy) and JSON made safe by
``report.script_json``.
"""

from __future__ import annotations

#: Renders every chart from the JSON block; no ``eval``: ``ast: true`` makes Vega use its
#: expression interpreter, so the CSP needs no ``'unsafe-eval'``.
BOOTSTRAP_JS = """(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("wb-specs").textContent);
  var views = {};
  window.wbViews = views;
  var jobs = [];
  // An outlet search box above a chart also filters the evidence tables of its section
  // (their second column is the outlet), so the sentences follow the chart.
  function followSource(el, spec, view) {
    (spec.params || []).forEach(function (p) {
      if (!/_source$/.test(p.name) || !p.bind) { return; }
      el.querySelectorAll("input[type=search]").forEach(function (inp) {
        inp.setAttribute("list", "wb-sources");
      });
      var section = el.closest("section");
      view.addSignalListener(p.name, function (_, value) {
        var q = String(value || "").trim().toLowerCase();
        section.querySelectorAll("details.evidence").forEach(function (d) {
          var shown = 0;
          d.querySelectorAll("tbody tr").forEach(function (tr) {
            var cell = tr.children[1];
            var ok = !q || (cell && cell.textContent.toLowerCase().indexOf(q) >= 0);
            tr.style.display = ok ? "" : "none";
            if (ok) { shown += 1; }
          });
          d.style.display = shown ? "" : "none";
          d.setAttribute("data-wb-shown", String(shown));
        });
      });
    });
  }
  document.querySelectorAll("[data-wb-chart]").forEach(function (el) {
    var key = el.getAttribute("data-wb-chart");
    var opts = {renderer: "svg", actions: false, ast: true, tooltip: {theme: "light"}};
    jobs.push(vegaEmbed(el, specs[key], opts).then(function (res) {
      views[key] = res.view;
      followSource(el, specs[key], res.view);
      el.setAttribute("data-wb-rendered", "1");
    }).catch(function (err) {
      el.setAttribute("data-wb-error", String(err));
      el.textContent = "This chart could not be drawn: " + err;
      console.error(err);
    }));
  });
  Promise.all(jobs).then(function () {
    document.body.setAttribute("data-wb-ready", "1");
  });
})();"""

CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; --accent:#0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); margin: 0; background: #fff; }
header { background: var(--bg); border-bottom: 1px solid var(--line); padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p.lead { margin: 0 0 10px; color: var(--muted); }
dl.stamp { display: grid; grid-template-columns: max-content 1fr max-content 1fr;
  gap: 2px 14px; margin: 0; font-size: 12.5px; }
dl.stamp dt { color: var(--muted); }
dl.stamp dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
  overflow-wrap: anywhere; }
nav { padding: 8px 32px; border-bottom: 1px solid var(--line); font-size: 13px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1200px; }
section { margin: 22px 0 30px; }
section h2 { font-size: 18px; margin: 0 0 4px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
p.intro, p.note, figcaption { color: var(--muted); margin: 4px 0 10px; }
p.empty { background: var(--bg); padding: 10px 14px; border-left: 3px solid var(--line); }
figure { margin: 10px 0 18px; }
.vega-bindings { margin-top: 6px; font-size: 13px; }
.vega-bind { display: inline-block; margin-right: 16px; }
.vega-bind-name { color: var(--muted); margin-right: 4px; }
table.evidence { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 16px; }
table.evidence th, table.evidence td { border-top: 1px solid var(--line); padding: 4px 8px;
  text-align: left; vertical-align: top; }
table.evidence th { background: var(--bg); font-weight: 600; }
td.left { text-align: right; color: var(--muted); white-space: nowrap; max-width: 300px;
  overflow: hidden; text-overflow: ellipsis; direction: rtl; }
td.right { color: var(--muted); max-width: 300px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
td.kw mark { background: #fff3b0; padding: 0 2px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
details.evidence { margin: 4px 0; }
details.evidence summary { cursor: pointer; font-weight: 600; padding: 3px 0; }
details.evidence summary small { color: var(--muted); font-weight: normal; }
details.evidence table { table-layout: fixed; }
details th:nth-child(1) { width: 88px; } details th:nth-child(2) { width: 120px; }
details th:nth-child(3), details th:nth-child(5) { width: 24%; }
details th:nth-child(4) { width: 110px; } details th:nth-child(7) { width: 120px; }
details td:nth-child(2) { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.title, td.ref { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.ref { font-family: ui-monospace, monospace; font-size: 11.5px; color: var(--muted); }
table.quotes { table-layout: auto; }
table.quotes td { white-space: normal; }
table.quotes td:nth-child(4) { min-width: 340px; }
.cell-md { margin: 10px 0; }
details.code summary { cursor: pointer; color: var(--muted); font-size: 12px; }
pre.code { background: var(--bg); padding: 8px 12px; overflow-x: auto; font-size: 12.5px; }
pre.out { padding: 4px 12px; font-size: 12.5px; white-space: pre-wrap; }
footer { color: var(--muted); font-size: 12px; padding: 10px 32px 30px;
  border-top: 1px solid var(--line); }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="coverage-workbench {{ stamp.workbench_version }}">
<title>{{ title }}</title>
<style>{{ css }}</style>
<script>{{ vega_js }}</script>
</head>
<body>
<header>
<h1>{{ title }}</h1>
<p class="lead">{{ lead }}</p>
<dl class="stamp">
{%- for label, value in stamp_rows %}
<dt>{{ label }}</dt><dd>{{ value }}</dd>
{%- endfor %}
</dl>
</header>
{%- if sections|length > 1 %}
<nav>{% for s in sections %}<a href="#{{ s.id }}">{{ s.title }}</a>{% endfor %}</nav>
{%- endif %}
<main>
{%- for s in sections %}
<section id="{{ s.id }}">
<h2>{{ s.title }}</h2>
{%- if s.intro %}<p class="intro">{{ s.intro }}</p>{% endif %}
{%- if s.empty %}<p class="empty">{{ s.empty }}</p>{% endif %}
{%- for block in s.blocks %}
{%- if block.kind == "chart" %}
<figure><div class="chart" id="chart-{{ block.key }}" data-wb-chart="{{ block.key }}"></div>
{%- if block.caption %}<figcaption>{{ block.caption }}</figcaption>{% endif %}</figure>
{%- elif block.kind == "table" %}
{%- if block.title %}<details class="evidence"{% if block.open %} open{% endif %}>
<summary>{{ block.title }}{% if block.subtitle %} <small>{{ block.subtitle }}</small>{% endif %}</summary>
{%- endif %}
<table class="evidence {{ block.cls }}">
<thead><tr>{% for c in block.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{%- for row in block.rows %}
<tr>{% for cell in row %}{{ cell_html(cell) }}{% endfor %}</tr>
{%- endfor %}
</tbody></table>
{%- if block.title %}</details>{% endif %}
{%- elif block.kind == "markdown" %}
<div class="cell-md">{{ block.html }}</div>
{%- elif block.kind == "code" %}
<details class="code"><summary>code</summary><pre class="code">{{ block.text }}</pre></details>
{%- elif block.kind == "text" %}
<pre class="out">{{ block.text }}</pre>
{%- elif block.kind == "html" %}
<div class="out-html">{{ block.html }}</div>
{%- elif block.kind == "image" %}
<img alt="{{ block.alt }}" src="{{ block.src }}">
{%- endif %}
{%- endfor %}
</section>
{%- endfor %}
</main>
<footer>Generated by coverage-workbench {{ stamp.workbench_version }} at {{ stamp.generated }}.
Every number is computed from the database stamped above; the charts work offline
(Vega {{ vega_versions }} inlined) and are interactive without a kernel.</footer>
<script type="application/json" id="wb-specs">{{ specs_json }}</script>
<script>{{ bootstrap_js }}</script>
</body>
</html>
"""
