/* The staff dashboard: draws each panel from the page's JSON (#dashboard-data) with Chart.js,
 * marks each drawn canvas data-ready="1", and polls the live runs every 2 seconds.
 * Amounts arrive as integers (grains, cents); cents are shown as euros by string arithmetic. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var COLORS = ["#2f6f4f", "#c0762b", "#3b5b92", "#9b3b5b", "#6b8e23", "#7a5195", "#ef5675",
    "#ffa600", "#4c9f9f", "#888888"];
  var STATUS_COLORS = { done: "#2f6f4f", running: "#3b5b92", queued: "#888888",
    interrupted: "#c0392b" };

  function euros(cents) {
    var sign = cents < 0 ? "-" : "";
    var abs = Math.abs(Math.trunc(cents));
    var frac = String(abs % 100);
    return sign + String(Math.trunc(abs / 100)) + "." + (frac.length < 2 ? "0" + frac : frac);
  }
  function hhmm(iso) {
    var d = new Date(iso);
    return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0") + " UTC";
  }

  function draw(name, config) {
    var panel = document.querySelector('[data-panel="' + name + '"]');
    if (!panel) { return; }
    var canvas = panel.querySelector("canvas");
    if (!canvas) { return; }
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { position: "bottom" } } }, config.options || {});
    new Chart(canvas, config);
    canvas.dataset.ready = "1";
  }
  function markReady(name) {
    var panel = document.querySelector('[data-panel="' + name + '"]');
    if (panel) { panel.dataset.ready = "1"; }
  }
  function bars(name, labels, datasets, options) {
    draw(name, { type: "bar", data: { labels: labels, datasets: datasets }, options: options });
  }
  function pluck(rows, key) { return rows.map(function (r) { return r[key]; }); }

  // silo and pool: balance at the end of each day that moved them (stepped lines)
  var silo = data.silo;
  var days = Array.from(new Set(pluck(silo.silo, "day").concat(pluck(silo.pool, "day")))).sort();
  function carried(rows) {
    var at = {}; rows.forEach(function (r) { at[r.day] = r.balance; });
    var last = null;
    return days.map(function (d) { if (d in at) { last = at[d]; } return last; });
  }
  draw("silo", { type: "line", data: { labels: days, datasets: [
    { label: "Silo", data: carried(silo.silo), borderColor: COLORS[0], stepped: true },
    { label: "Pool", data: carried(silo.pool), borderColor: COLORS[1], stepped: true }] } });

  bars("compost", pluck(data.compost, "period"),
    [{ label: "Grains composted", data: pluck(data.compost, "grains"), backgroundColor: COLORS[1] }]);
  bars("redistribution", pluck(data.redistribution, "period"),
    [{ label: "Grains redistributed", data: pluck(data.redistribution, "grains"), backgroundColor: COLORS[0] }]);
  bars("compost_share", pluck(data.compost_share, "month"),
    [{ label: "% of supply", data: data.compost_share.map(function (r) {
      return r.share_bp === null ? null : r.share_bp / 100; }), backgroundColor: COLORS[2] }]);

  // runs: the timeline's durations, coloured by status
  var timeline = data.runs.timeline.slice().reverse();
  bars("runs", timeline.map(function (r) { return "#" + r.id + " " + r.kind + " " + r.period; }),
    [{ label: "Duration (s)", data: timeline.map(function (r) { return (r.duration_ms || 0) / 1000; }),
      backgroundColor: timeline.map(function (r) { return STATUS_COLORS[r.status] || "#888888"; }) }],
    { plugins: { legend: { display: false } } });

  // balances: the histogram of the snapshot
  bars("balances", pluck(data.balances.histogram, "band"),
    [{ label: "Wallets", data: pluck(data.balances.histogram, "wallets"), backgroundColor: COLORS[0] }]);

  // daily harvest and plant, stacked by kind and reason
  var dayLabels = Array.from(new Set(pluck(data.daily, "day"))).sort();
  var series = {};
  data.daily.forEach(function (r) {
    var key = r.kind + ": " + r.reason;
    series[key] = series[key] || {};
    series[key][r.day] = r.grains;
  });
  bars("daily", dayLabels, Object.keys(series).sort().map(function (key, i) {
    return { label: key, data: dayLabels.map(function (d) { return series[key][d] || 0; }),
      backgroundColor: COLORS[i % COLORS.length], stack: key.split(":")[0] };
  }), { scales: { x: { stacked: true }, y: { stacked: true } } });

  bars("projects", pluck(data.projects, "title"),
    [{ label: "Grains planted", data: pluck(data.projects, "score"), backgroundColor: COLORS[4] }],
    { indexAxis: "y", plugins: { legend: { display: false } } });

  var money = { ticks: { callback: function (v) { return euros(v); } } };
  bars("deposits", pluck(data.deposits, "day"), [
    { label: "Deposits (EUR)", data: pluck(data.deposits, "gross_cents"), backgroundColor: COLORS[2] },
    { label: "Fees (EUR)", data: pluck(data.deposits, "fee_cents"), backgroundColor: COLORS[3] }],
    { scales: { y: money }, plugins: { tooltip: { callbacks: { label: function (c) {
      return c.dataset.label + ": " + euros(c.raw); } } } } });

  bars("campaigns", data.campaigns.map(function (c) { return c.title + " (goal " + euros(c.goal_cents) + ")"; }),
    [{ label: "% of goal", data: data.campaigns.map(function (c) { return c.progress_bp / 100; }),
      backgroundColor: COLORS[5] }], { indexAxis: "y", plugins: { legend: { display: false } } });

  markReady("pockets");
  markReady("books");
  document.querySelectorAll("time[data-hhmm]").forEach(function (t) { t.textContent = hhmm(t.dateTime); });
  document.querySelectorAll("time[data-when]").forEach(function (t) {
    t.textContent = t.dateTime.slice(0, 10) + " " + hhmm(t.dateTime);
  });

  // live progress of the running runs and settlements, without a reload
  function bar(run) {
    var pct = run.total ? Math.floor((run.done * 100) / run.total) : 0;
    var workers = Object.keys(run.workers).sort().map(function (w) { return w + ": " + run.workers[w]; });
    var row = document.createElement("div");
    row.className = "progress" + (run.stalled ? " stalled" : "");
    row.dataset.run = run.kind + "-" + run.id;
    row.innerHTML = "<span class='label'></span><progress max='100'></progress><span class='count'></span>" +
      "<span class='workers'></span>";
    row.querySelector(".label").textContent = "#" + run.id + " " + run.kind + " " + run.period + " (" + run.status + ")";
    row.querySelector("progress").value = pct;
    row.querySelector(".count").textContent = run.done + " / " + run.total + " chunks" + (run.stalled ? ", stalled" : "");
    row.querySelector(".workers").textContent = workers.length ? "per worker: " + workers.join(", ") : "";
    return row;
  }
  function show(live) {
    var runs = document.querySelector("[data-panel='runs'] .live");
    var settlements = document.querySelector(".live-settlements");
    runs.replaceChildren.apply(runs, live.running.length ? live.running.map(bar) : [document.createTextNode("No run under way.")]);
    settlements.replaceChildren.apply(settlements, live.settlements.length ? live.settlements.map(bar) : [document.createTextNode("No settlement under way.")]);
    runs.dataset.ready = "1";
    markReady("settlements");
  }
  show({ running: data.runs.running, settlements: data.runs.settlements });
  var url = document.querySelector("[data-live-url]").dataset.liveUrl;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (live) { if (live) { show(live); } })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
