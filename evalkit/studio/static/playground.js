// The playground: one POST /api/playground per chosen model; its NDJSON stream is appended as
// text (never as HTML) to that model's column, then the timings are shown.
"use strict";
(function () {
  var form = document.getElementById("play");
  if (!form) { return; }
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
    document.getElementById("answers").appendChild(box);
    return {box: box, text: text, stats: stats};
  }
  function fmt(value, digits, unit) {
    return value === null || value === undefined ? "n/a" : value.toFixed(digits) + unit;
  }
  function show(col, event) {
    if (event.delta !== undefined) { col.text.textContent += event.delta; }
    if (event.error !== undefined) {
      col.stats.textContent = "error: " + event.error;
      col.box.setAttribute("data-state", "error");
    }
    if (event.done) {
      col.stats.textContent = "first token " + fmt(event.ttft_s, 3, " s") + " · " +
        fmt(event.tokens_per_s, 1, " tokens/s") + " · " + event.output_tokens + " tokens · cost " +
        (event.cost_usd === null ? "n/a" : "$" + event.cost_usd.toFixed(6));
      col.box.setAttribute("data-state", "done");
    }
  }
  async function run(name, prompt) {
    var col = column(name);
    var response = await fetch("/api/playground", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({model: name, prompt: prompt})
    });
    if (!response.ok) { show(col, {error: "HTTP " + response.status}); return; }
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    for (;;) {
      var part = await reader.read();
      if (part.done) { break; }
      buffer += decoder.decode(part.value, {stream: true});
      var lines = buffer.split("\n");
      buffer = lines.pop();
      lines.forEach(function (line) { if (line) { show(col, JSON.parse(line)); } });
    }
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("answers").textContent = "";
    var prompt = document.getElementById("prompt").value;
    form.querySelectorAll("input[name=model]:checked").forEach(function (box) {
      run(box.value, prompt);
    });
  });
})();
