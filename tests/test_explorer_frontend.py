"""The explorer as a browser draws it (issue 18, point 10): bars, tooltips and data agree.

The kernel side is the real ``panels.Explorer`` on the 110-outlet Reuters corpus; every widget
message it sends (comm open / update / close) is recorded and replayed, one message per browser
task as a front end receives them, into the real JupyterChart front end (Altair's offline
bundle with Vega) in headless Chromium. After the first draw, Share, Counts and a dragged Top-N
slider, the chart's place must hold one chart whose bars are as long as the data says and whose
tooltips name the same numbers. No JupyterLab is needed (``test_explorer_lab.py`` drives the
explorer inside a real JupyterLab when one is installed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import altair as alt
import comm
import pytest
from chromium_driver import Chromium, find_chromium

from workbench.explore import panels

pytestmark = pytest.mark.chromium

_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<div id="slot"></div>
<script id="jc" type="text/plain">{esm}</script>
<script id="phases" type="application/json">{phases}</script>
<script type="module">
const src = document.getElementById("jc").textContent;
const jc = (await import(URL.createObjectURL(new Blob([src], {{type: "text/javascript"}})))).default;
const {{root, slot: SLOT, phases}} = JSON.parse(document.getElementById("phases").textContent);
class Model {{
  constructor(state) {{ this.s = state; this.h = {{}}; }}
  get(k) {{ return this.s[k]; }}
  set(k, v) {{ this.s[k] = v; }}
  save_changes() {{}}
  on(e, f) {{ (this.h[e] ||= []).push(f); }}
  fire(k, v) {{ this.s[k] = v; for (const f of this.h["change:" + k] || []) f({{changed: {{[k]: v}}}}); }}
}}
const models = {{}};
let shown = null;
const id = (ref) => ref.replace("IPY_MODEL_", "");
function display() {{
  const cid = id(models[root].get("children")[SLOT]);
  if (cid === shown || !("spec" in models[cid].s)) return;
  shown = cid;  // a Box swaps a child's view for the new child's: a new element
  const host = document.getElementById("slot");
  host.replaceChildren();
  const el = document.createElement("div");
  host.appendChild(el);
  jc.render({{model: models[cid], el}});
}}
function handle(m) {{
  if (m.type === "comm_open") models[m.id] = new Model(m.data.state);
  else if (m.type === "comm_msg" && m.data.method === "update") {{
    for (const [k, v] of Object.entries(m.data.state)) models[m.id].fire(k, v);
    if (m.id === root && "children" in m.data.state && shown !== null) display();
  }}
}}
window.__play = async (i) => {{
  for (const m of phases[i]) {{ await new Promise((r) => setTimeout(r, 0)); handle(m); }}
  if (shown === null) display();  // the notebook displays the explorer after its cell ran
  return true;
}};
window.__ready = true;
</script></body></html>"""

_STATE = r"""(() => {
  const slot = document.getElementById('slot');
  const bars = [...slot.querySelectorAll('path[aria-roledescription="bar"]')].map((p) => {
    const r = p.getBoundingClientRect();
    return {aria: p.getAttribute('aria-label'), w: r.width, x: r.left + r.width / 2,
            y: (r.top + r.bottom) / 2};
  });
  return {embeds: slot.querySelectorAll('.vega-embed').length,
          menus: slot.querySelectorAll('details').length,
          charts: slot.querySelectorAll('svg.marks').length, bars};
})()"""

_HOVER = """((x, y) => { const e = document.elementFromPoint(x, y);
  for (const t of ['pointermove', 'mousemove'])
    e.dispatchEvent(new MouseEvent(t, {clientX: x, clientY: y, bubbles: true}));
  const tip = document.querySelector('#vg-tooltip-element.visible');
  return tip ? tip.innerText : null; })(%f, %f)"""


class _Recorder(comm.DummyComm):
    """A comm that keeps what the kernel would send to the front end."""

    log: list[dict[str, Any]] = []

    def publish_msg(self, msg_type: str, data: Any = None, *a: Any, **k: Any) -> None:
        state = (data or {}).get("state")
        if isinstance(state, dict) and "_esm" in state:  # the bundle travels once, in the page
            data = {**data, "state": {**state, "_esm": None}}
        self.log.append({"type": msg_type, "id": self.comm_id, "data": data})


def _phase(ex: panels.Explorer, field: str) -> dict[str, Any]:
    msgs = json.loads(json.dumps(_Recorder.log, default=str))
    _Recorder.log.clear()
    want = ex.chart.chart.data  # what the chart was given: pooled tail included
    return {
        "msgs": msgs,
        "field": field,
        "want": dict(zip(want["label"], want[field], strict=True)),
    }


@pytest.fixture(scope="module")
def recorded(outlets_wb, tmp_path_factory) -> tuple[Path, list[dict[str, Any]]]:
    panels.setup()
    mp = pytest.MonkeyPatch()
    mp.setattr(comm, "create_comm", _Recorder)
    try:
        _Recorder.log.clear()
        ex = panels.Explorer(outlets_wb, "source", n=10)
        phases = [_phase(ex, "articles")]
        ex.measure.value = "share"
        phases.append(_phase(ex, "share"))
        ex.measure.value = "count"
        phases.append(_phase(ex, "articles"))
        for n in range(3, 40, 3):  # a dragged slider: refreshes in quick succession
            ex.top_n.value = n
        phases.append(_phase(ex, "articles"))
        ex.top_n.value = ex.top_n.max  # past MAX_BARS: the pooled tail
        phases.append(_phase(ex, "articles"))
        root = ex.widget.model_id
    finally:
        mp.undo()
    blob = {
        "root": root,
        "slot": panels.Explorer._CHART_SLOT,
        "phases": [p["msgs"] for p in phases],
    }
    page = tmp_path_factory.mktemp("frontend") / "explorer.html"
    page.write_text(
        _PAGE.format(
            esm=str(alt.JupyterChart._esm),
            phases=json.dumps(blob).replace("</", "<\\/"),
        ),
        encoding="utf-8",
    )
    return page, phases


def test_the_chart_widget_is_born_with_the_chart_it_draws(recorded):
    """Before it is displayed, the explorer's chart widget is opened holding its first chart
    and its spec is never re-sent: a front end that starts drawing as soon as the widget
    exists (the first one of a session waits on the 900 kB bundle) has no stand-in spec to
    embed and then re-embed over."""
    _, phases = recorded
    first = phases[0]["msgs"]
    charts_opened = [m for m in first if m["type"] == "comm_open" and "spec" in m["data"]["state"]]
    assert len(charts_opened) == 1
    opened = charts_opened[0]
    spec_updates = [
        m for m in first if m["id"] == opened["id"] and "spec" in m["data"].get("state", {})
    ]
    assert spec_updates == [opened]
    rows = list(opened["data"]["state"]["spec"]["datasets"].values())[0]
    assert {r["label"]: r["articles"] for r in rows} == phases[0]["want"]


def test_replayed_explorer_draws_its_data_and_tooltips(recorded):
    binary = find_chromium()
    if not binary:
        pytest.skip("Chromium not found (apt-get install -y chromium, or set WORKBENCH_CHROMIUM)")
    page, phases = recorded
    assert "</script" not in str(alt.JupyterChart._esm)
    with Chromium(binary, width=1000, height=1600) as c:
        c.open(page, settle=0.2)
        c.wait_for("window.__ready === true", timeout=60)
        for i, phase in enumerate(phases):
            c.eval(f"window.__play({i})", await_promise=True)
            want = phase["want"]
            c.wait_for(f"{_STATE}.bars.length === {len(want)}", timeout=30)
            c.pump(1.0)  # let any embed still under way land
            st = c.eval(_STATE)
            where = f"phase {i} ({phase['field']}, {len(want)} bars)"
            assert (st["embeds"], st["menus"], st["charts"]) == (1, 1, 1), (where, st)
            drawn = {}
            for b in st["bars"]:
                label = b["aria"].split("label: ", 1)[1].split("; name: ", 1)[0]
                drawn[label.replace("&amp;", "&")] = b
            assert set(drawn) == set(want), where
            top = max(want, key=want.get)
            scale = drawn[top]["w"] / want[top]
            for label, value in want.items():
                assert drawn[label]["w"] == pytest.approx(value * scale, rel=0.02, abs=0.6), (
                    where,
                    label,
                )
            for label in (top, min(want, key=want.get)):
                tip = c.eval(_HOVER % (drawn[label]["x"], drawn[label]["y"]))
                c.pump(0.1)
                tip = tip or c.eval("document.querySelector('#vg-tooltip-element').innerText")
                shown = (
                    f"{want[label]:.1%}" if phase["field"] == "share" else f"{int(want[label]):,}"
                )
                assert label in tip and shown in tip, (where, label, tip)
        assert not c.log.errors(), c.log.errors()[:3]
        assert not c.log.blocked
