/* The "Season simulator" panel: posts its form as JSON to the dashboard's simulation endpoint
 * (session, CSRF token of the form) and draws the weekly series with Chart.js: silo, supply,
 * composted and redistributed (grains, left axis), Gini and share composted (right axis, %).
 * Grains arrive as integers and ratios as decimal strings; the chart only plots them. */
(function () {
  "use strict";
  var panel = document.querySelector('[data-panel="simulator"]');
  if (!panel) { return; }
  var form = panel.querySelector("form");
  var status = form.querySelector(".status");
  var canvas = panel.querySelector("canvas");
  var chart = null;
  var COLORS = ["#2f6f4f", "#3b5b92", "#c0762b", "#6b8e23", "#9b3b5b", "#7a5195"];

  function body() {
    var out = {};
    ["weeks", "seed", "synthetic"].forEach(function (name) {
      var v = form.elements[name].value.trim();
      out[name] = v === "" ? null : parseInt(v, 10);
    });
    ["compost_rate", "redistribution_rate"].forEach(function (name) {
      out[name] = form.elements[name].value.trim();
    });
    return out;
  }
  function line(label, data, i, axis) {
    return { label: label, data: data, borderColor: COLORS[i], backgroundColor: COLORS[i],
      yAxisID: axis, pointRadius: 0, borderWidth: 2 };
  }
  function draw(report) {
    var weeks = report.weeks;
    function pluck(key) { return weeks.map(function (w) { return w[key]; }); }
    function percent(key) { return weeks.map(function (w) { return Number(w[key]) * 100; }); }
    var config = {
      type: "line",
      data: {
        labels: weeks.map(function (w) { return w.compost_at.slice(0, 10); }),
        datasets: [
          line("Silo", pluck("silo"), 0, "y"),
          line("Supply", pluck("supply"), 1, "y"),
          line("Composted", pluck("composted"), 2, "y"),
          line("Redistributed", pluck("redistributed"), 3, "y"),
          line("Gini (%)", percent("gini"), 4, "y1"),
          line("Share composted (%)", percent("share_composted"), 5, "y1")
        ]
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" } },
        scales: { y: { position: "left", title: { display: true, text: "grains" } },
          y1: { position: "right", grid: { drawOnChartArea: false },
            title: { display: true, text: "%" } } } }
    };
    if (chart) { chart.destroy(); }
    chart = new Chart(canvas, config);
    canvas.dataset.ready = "1";
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    status.className = "status";
    status.textContent = "Simulating…";
    fetch(form.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
        "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      body: JSON.stringify(body())
    })
      .then(function (r) { return r.json().then(function (json) { return { ok: r.ok, json: json }; }); })
      .then(function (res) {
        if (!res.ok) {
          status.className = "status bad";
          status.textContent = res.json.code + ": " + res.json.message;
          return;
        }
        var p = res.json.parameters;
        status.textContent = p.wallets + " wallets (" + p.source + "), " + p.weeks + " weeks, compost " +
          p.compost_rate + ", redistribution " + p.redistribution_rate + ", in " + res.json.elapsed_ms + " ms";
        draw(res.json);
      })
      .catch(function () { status.className = "status bad"; status.textContent = "The simulation failed."; });
  });
  panel.dataset.ready = "1";
})();
