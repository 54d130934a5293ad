/* The dashboard's policy lab: posts the what-if form (session, CSRF) and shows both sides,
 * the difference and the composted amounts' bands; a policy maker can then put the what-if's
 * parameters in force. The what-if section gets data-ready="1" once a result is drawn. */
(function () {
  "use strict";
  var panel = document.querySelector('[data-panel="whatif"]');
  if (!panel) { return; }
  var form = panel.querySelector(".whatif-form");
  var errorBox = panel.querySelector(".whatif-error");
  var table = panel.querySelector(".whatif-result");
  var diff = panel.querySelector(".whatif-difference");
  var changeForm = panel.querySelector(".change-form");
  var changeResult = panel.querySelector(".change-result");
  var chart = null;
  var whatifId = null;

  function csrf() { return form.querySelector("[name=csrfmiddlewaretoken]").value; }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    });
  }
  function showError(data) {
    errorBox.textContent = data.code + ": " + data.message;
    errorBox.hidden = false;
  }
  function num(n) { return Number(n).toLocaleString("en"); }
  function row(label, a, b) {
    var tr = document.createElement("tr");
    [label, a, b].forEach(function (text, i) {
      var cell = document.createElement(i === 0 ? "th" : "td");
      cell.textContent = text;
      tr.appendChild(cell);
    });
    return tr;
  }
  function candidate() {
    var out = {};
    form.querySelectorAll("input[data-in-force]").forEach(function (input) {
      if (input.value === input.dataset.inForce || input.value.trim() === "") { return; }
      out[input.name] = /_rate$/.test(input.name) ? input.value : Number(input.value);
    });
    return out;
  }

  function render(data) {
    var b = data.result.baseline, c = data.result.candidate, d = data.result.difference;
    var body = table.querySelector("tbody");
    body.replaceChildren(
      row("Wallets composting", num(b.compost.wallets), num(c.compost.wallets)),
      row("Grains composted", num(b.compost.grains), num(c.compost.grains)),
      row("Median amount", num(b.compost.percentiles.p50 || 0), num(c.compost.percentiles.p50 || 0)),
      row("p90 amount", num(b.compost.percentiles.p90 || 0), num(c.compost.percentiles.p90 || 0)),
      row("Members counted for a share", num(b.redistribution.eligible_wallets), num(c.redistribution.eligible_wallets)),
      row("Pot (silo " + num(b.redistribution.silo) + ")", num(b.redistribution.pot), num(c.redistribution.pot)),
      row("Share per member", num(b.redistribution.per_wallet), num(c.redistribution.per_wallet)),
      row("Outcome", b.redistribution.outcome, c.redistribution.outcome));
    table.hidden = false;
    diff.textContent = num(d.start_composting) + " members would start composting, " +
      num(d.stop_composting) + " stop, " + num(d.amount_changed) + " change amount; grains moved " +
      (d.grains_moved >= 0 ? "+" : "") + num(d.grains_moved) + ". " + num(d.start_receiving) +
      " would start receiving a share, " + num(d.stop_receiving) + " stop. (what-if #" +
      data.whatif_id + ", " + num(data.result.wallets) + " wallets, " + data.duration_ms + " ms)";
    diff.hidden = false;
    var labels = c.compost.bands.map(function (x) { return x.band; });
    var config = { type: "bar", data: { labels: labels, datasets: [
      { label: "In force: wallets per amount band", data: b.compost.bands.map(function (x) { return x.wallets; }), backgroundColor: "#888888" },
      { label: "Candidate", data: c.compost.bands.map(function (x) { return x.wallets; }), backgroundColor: "#2f6f4f" }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" } } } };
    if (chart) { chart.destroy(); }
    chart = new Chart(panel.querySelector("canvas"), config);
    panel.querySelector("canvas").dataset.ready = "1";
    panel.dataset.ready = "1";
    if (changeForm) { changeForm.hidden = false; }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    post(panel.dataset.whatifUrl, candidate()).then(function (res) {
      if (!res.ok) { showError(res.data); return; }
      whatifId = res.data.whatif_id;
      render(res.data);
    });
  });
  if (changeForm) {
    changeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { whatif_id: whatifId, reason: changeForm.elements.reason.value };
      if (changeForm.elements.effective_at.value) { body.effective_at = changeForm.elements.effective_at.value; }
      post(panel.dataset.changeUrl, body).then(function (res) {
        if (!res.ok) { showError(res.data); return; }
        changeResult.textContent = "Version " + res.data.version_id + " in force from " +
          res.data.effective_at + ".";
        changeResult.hidden = false;
        changeResult.dataset.versionId = String(res.data.version_id);
      });
    });
  }
}());
