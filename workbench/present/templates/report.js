(function () {
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
})();