// Prompt sets: save the last prompt and its finished answers (POST /api/prompt-sets), list the
// sets, run one as an evalkit run and poll it until its paired comparisons are in. Everything
// from the server is inserted as text.
"use strict";
(function () {
  var form = document.getElementById("save");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var play = function () { return window.evalkitPlayground; };

  async function json(url, body) {
    var init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    var response = await fetch(url, init);
    var data = await response.json();
    if (!response.ok) { throw new Error(data.error || ("HTTP " + response.status)); }
    return data;
  }
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function num(v) { return v === null || v === undefined ? "n/a" : Number(v).toPrecision(4); }
  async function listSets() {
    var body = $("sets").querySelector("tbody");
    var data = await json("/api/prompt-sets");
    body.textContent = "";
    data.sets.forEach(function (s) {
      var row = document.createElement("tr");
      row.setAttribute("data-set", s.set);
      cell(row, s.set); cell(row, String(s.samples)); cell(row, s.systems.join(", "));
      var button = document.createElement("button");
      button.type = "button"; button.className = "run-set"; button.textContent = "run as an evalkit run";
      button.addEventListener("click", function () { runSet(s.set); });
      cell(row, "").appendChild(button);
      body.appendChild(row);
    });
  }
  function showComparisons(rows) {
    var table = $("comparisons"), body = table.querySelector("tbody");
    body.textContent = "";
    rows.forEach(function (r) {
      var row = document.createElement("tr");
      if (r.significant) { row.className = "significant"; }
      [r.task, r.metric, r.baseline, r.model, String(r.n), num(r.baseline_value), num(r.value),
       num(r.delta) + " [" + num(r.delta_ci[0]) + ", " + num(r.delta_ci[1]) + "]", num(r.p_holm)
      ].forEach(function (t) { cell(row, t); });
      body.appendChild(row);
    });
    table.hidden = rows.length === 0;
  }
  async function runSet(name) {
    var box = $("run-state");
    box.textContent = "running " + name + "…";
    box.setAttribute("data-state", "running");
    try {
      var job = await json("/api/prompt-sets/" + encodeURIComponent(name) + "/run", {});
      while (job.state === "running") {
        await new Promise(function (ok) { setTimeout(ok, 500); });
        job = await json("/api/prompt-runs/" + encodeURIComponent(job.id));
      }
      box.textContent = job.state === "done" ? "run written to " + job.run_dir + " · " : "failed: " + job.message;
      if (job.report) {
        var link = document.createElement("a");
        link.href = "/prompt-runs/" + encodeURIComponent(job.id) + "/report";
        link.id = "report-link"; link.textContent = "open its report";
        box.appendChild(link);
      }
      box.setAttribute("data-state", job.state);
      showComparisons(job.comparisons || []);
    } catch (e) { box.textContent = "error: " + e.message; box.setAttribute("data-state", "failed"); }
  }
  document.addEventListener("playground-start", function () { $("save-button").disabled = true; });
  document.addEventListener("playground-done", function () {
    $("save-button").disabled = !play().answers.some(function (a) { return a.done; });
  });
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var p = play(), sent = p.sent, picked = sent.picked || {};
    var body = {set: $("set-name").value, version: $("version").value, prompt: sent.prompt,
                system: sent.system, task: picked.task || null, sample_id: picked.sample_id || null,
                template: picked.template || "{{ input }}", system_template: picked.system_template || "",
                references: sent.reference ? [sent.reference] : [],
                answers: p.answers.filter(function (a) { return a.done; })};
    try {
      var saved = await json("/api/prompt-sets", body);
      $("save-state").textContent = "saved: " + saved.set + " has " + saved.samples + " samples";
      $("save-state").setAttribute("data-saved", String(saved.samples));
      await listSets();
    } catch (e) { $("save-state").textContent = "error: " + e.message; }
  });
  listSets();
})();
