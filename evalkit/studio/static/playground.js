// The playground: a task sample picker with an editable template (rendered on the server), then
// one POST /api/playground per chosen model; each NDJSON stream is appended as text (never as
// HTML) to that model's column, then its timings. The last answers are kept in
// window.evalkitPlayground for prompt_sets.js (save).
"use strict";
(function () {
  var form = document.getElementById("play");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var state = {answers: [], picked: null};
  window.evalkitPlayground = state;

  async function json(url, body) {
    var init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    var response = await fetch(url, init);
    var data = await response.json();
    if (!response.ok) { throw new Error(data.error || ("HTTP " + response.status)); }
    return data;
  }
  function option(value, label) {
    var o = document.createElement("option");
    o.value = value; o.textContent = label;
    return o;
  }
  async function pickTask() {
    var name = $("task").value, sample = $("sample");
    sample.textContent = ""; $("picker-state").textContent = "";
    $("templates").hidden = !name; sample.disabled = !name; $("reference-box").hidden = !!name;
    if (!name) { state.picked = null; return; }
    try {
      var task = await json("/api/tasks/" + encodeURIComponent(name) + "?limit=200");
      $("template").value = task.template; $("system-template").value = task.system_template;
      task.samples.forEach(function (s) { sample.appendChild(option(s.id, s.id + " · " + s.preview)); });
      $("picker-state").textContent = task.n + " samples" + (task.n > 200 ? " (first 200 listed)" : "");
      await fill();
    } catch (e) { $("picker-state").textContent = "error: " + e.message; }
  }
  async function fill() {
    var name = $("task").value, id = $("sample").value;
    if (!name || !id) { return; }
    try {
      var r = await json("/api/render", {task: name, sample_id: id, template: $("template").value,
                                         system_template: $("system-template").value});
      var system = r.messages.filter(function (m) { return m.role === "system"; });
      $("system").value = system.length ? system[0].content : "";
      $("prompt").value = r.messages[r.messages.length - 1].content;
      state.picked = {task: name, sample_id: id, template: $("template").value,
                      system_template: $("system-template").value};
      $("picker-state").textContent = "";
    } catch (e) { $("picker-state").textContent = "error: " + e.message; }
  }
  function column(name) {
    var box = document.createElement("div");
    box.className = "answer";
    box.setAttribute("data-state", "streaming");
    var title = document.createElement("h2");
    title.textContent = name;
    var text = document.createElement("pre");
    text.className = "answer-text";
    var stats = document.createElement("p");
    stats.className = "stats muted";
    box.appendChild(title); box.appendChild(text); box.appendChild(stats);
    $("answers").appendChild(box);
    return {box: box, text: text, stats: stats};
  }
  function fmt(value, digits, unit) {
    return value === null || value === undefined ? "n/a" : value.toFixed(digits) + unit;
  }
  function show(col, answer, event) {
    if (event.delta !== undefined) { col.text.textContent += event.delta; answer.text += event.delta; }
    if (event.error !== undefined) {
      col.stats.textContent = "error: " + event.error;
      col.box.setAttribute("data-state", "error");
    }
    if (event.done) {
      col.stats.textContent = "first token " + fmt(event.ttft_s, 3, " s") + " · " +
        fmt(event.tokens_per_s, 1, " tokens/s") + " · " + event.output_tokens + " tokens · cost " +
        (event.cost_usd === null ? "n/a" : "$" + event.cost_usd.toFixed(6));
      col.box.setAttribute("data-state", "done");
      answer.done = true; answer.seconds = event.seconds; answer.ttft_s = event.ttft_s;
      answer.output_tokens = event.output_tokens; answer.cost_usd = event.cost_usd;
    }
  }
  async function run(name, body) {
    var col = column(name), answer = {model: name, text: "", done: false};
    state.answers.push(answer);
    var response = await fetch("/api/playground", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(Object.assign({model: name}, body))
    });
    if (!response.ok) { show(col, answer, {error: "HTTP " + response.status}); return; }
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    for (;;) {
      var part = await reader.read();
      if (part.done) { break; }
      buffer += decoder.decode(part.value, {stream: true});
      var lines = buffer.split("\n");
      buffer = lines.pop();
      lines.forEach(function (line) { if (line) { show(col, answer, JSON.parse(line)); } });
    }
  }
  $("task").addEventListener("change", pickTask);
  $("sample").addEventListener("change", fill);
  $("render").addEventListener("click", fill);
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    $("answers").textContent = "";
    state.answers = [];
    state.sent = {prompt: $("prompt").value, system: $("system").value,
                  reference: $("reference").value, picked: $("task").value ? state.picked : null};
    document.dispatchEvent(new Event("playground-start"));
    var runs = [];
    form.querySelectorAll("input[name=model]:checked").forEach(function (box) {
      runs.push(run(box.value, {prompt: state.sent.prompt, system: state.sent.system}));
    });
    await Promise.allSettled(runs);
    document.dispatchEvent(new Event("playground-done"));
  });
})();
