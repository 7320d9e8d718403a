// evalkit report: tabs, charts, the sample browser and the comparison view.
// Every string from the data reaches the page through textContent (never innerHTML); strings
// handed to Plotly are entity-escaped first, since Plotly reads a few HTML tags in its labels.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("evalkit-data").textContent);
  const S = D.samples, O = D.outputs;
  const PAGE = 50;
  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function addOption(select, value, label) {
    const o = el("option", label === undefined ? value : label);
    o.value = String(value);
    select.appendChild(o);
  }
  function fmt(v) {
    if (v === null || v === undefined) return "n/a";
    const a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(2) : v.toPrecision(3);
  }
  function plotText(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function metricsOf(task) { return D.metrics[task] || []; }
  function higherIsBetter(task, metric) {
    const m = metricsOf(task).find((x) => x.name === metric);
    return m ? m.higher : true;
  }

  // ---------- tabs ----------
  const drawn = {};
  function showTab(name) {
    document.querySelectorAll("section.tab").forEach((s) => { s.hidden = s.id !== name; });
    document.querySelectorAll("#tabs button").forEach((b) => {
      b.classList.toggle("active", b.dataset.tab === name);
    });
    if (name === "charts" && !drawn.charts) { drawn.charts = true; drawCharts(); }
    if (name === "compare" && !drawn.compare) { drawn.compare = true; initCompare(); }
  }
  document.querySelectorAll("#tabs button").forEach((b) => {
    b.addEventListener("click", () => showTab(b.dataset.tab));
  });

  // ---------- charts ----------
  const AXES = { lat50: "latency p50 (s)", lat95: "latency p95 (s)", cost1k: "cost per 1,000 samples (USD)" };
  const PLOT_CONFIG = { displaylogo: false, responsive: true };
  // Nine symbols against Plotly's ten colours: no two of the first 90 traces look alike.
  const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down", "hexagon"];

  function currentBaseline(task) {
    const C = D.comparison;
    const chosen = $("baseline") ? $("baseline").value : "";
    const models = D.taskModels[task] || [];
    if (chosen && models.includes(chosen)) return chosen;
    return C && C.baselines[task] ? C.baselines[task] : models[0];
  }
  function aggregatesOf(task, metric) {
    return D.aggregates.filter((a) => a.task === task && a.metric === metric && a.value !== null);
  }
  function errorBars(rows) {
    return {
      type: "data", symmetric: false, visible: true,
      array: rows.map((a) => (a.hi === null ? 0 : a.hi - a.value)),
      arrayminus: rows.map((a) => (a.lo === null ? 0 : a.value - a.lo)),
    };
  }
  function drawTradeoff(task, metric, axis) {
    const box = $("chart-" + axis);
    const usage = {};
    D.usage.filter((u) => u.task === task && u[axis] !== null).forEach((u) => { usage[u.model] = u[axis]; });
    const rows = aggregatesOf(task, metric).filter((a) => a.model in usage);
    if (!rows.length) {
      Plotly.purge(box);
      box.replaceChildren(el("p", AXES[axis] + ": not measured for " + task + " (replayed outputs carry no latency or cost)." + (D.scorerPareto && D.scorerPareto[task] ? " The Summary tab charts what was measured: each scorer's cost against its agreement with the human ratings." : ""), "muted note"));
      return;
    }
    if (box.querySelector(".note")) box.replaceChildren();  // Plotly keeps its own DOM between redraws
    const front = ((D.frontiers[task] || {})[metric] || {})[axis] || [];
    const frontRows = rows.filter((a) => front.includes(a.model)).sort((a, b) => usage[a.model] - usage[b.model]);
    // One trace per model: hover labels and a legend name the points (text labels overlap).
    const points = rows.map((a, k) => ({
      type: "scatter", mode: "markers", name: plotText(a.model),
      x: [usage[a.model]], y: [a.value], error_y: errorBars([a]),
      marker: { size: 10, symbol: SYMBOLS[k % SYMBOLS.length] },
      hovertemplate: plotText(a.model) + "<br>" + plotText(metric) + " %{y}<br>" + AXES[axis] + " %{x}<extra></extra>",
    }));
    const dominant = frontRows.length === 1;
    const line = {
      type: "scatter", mode: dominant ? "markers" : "lines", line: { dash: "dot", color: "#444" },
      name: dominant ? "Pareto frontier: " + plotText(frontRows[0].model) + " dominates" : "Pareto frontier",
      marker: { size: 20, symbol: "circle-open", color: "#444" },
      x: frontRows.map((a) => usage[a.model]), y: frontRows.map((a) => a.value), hoverinfo: "skip",
    };
    box.dataset.frontier = frontRows.map((a) => a.model).join(",");
    return Plotly.react(box, [...points, line], {
      title: { text: plotText(metric) + " vs " + AXES[axis] }, margin: { t: 40, r: 10, l: 50, b: 40 },
      xaxis: { title: { text: AXES[axis] } }, yaxis: { title: { text: plotText(metric) } },
      showlegend: true, legend: { orientation: "h", y: -0.25 },
    }, PLOT_CONFIG);
  }
  function drawDots(task, metric) {
    // One dot per model with its 95% CI as a horizontal bar: no axis from zero, so 0.41 and 0.52
    // look as different as they are. The baseline of the comparisons is drawn apart and named.
    const higher = higherIsBetter(task, metric);
    const rows = aggregatesOf(task, metric).sort((a, b) => (higher ? a.value - b.value : b.value - a.value));
    const base = currentBaseline(task);
    const colors = rows.map((a) => (a.model === base ? "#d62728" : "#1f77b4"));
    const labels = rows.map((a) => plotText(a.model === base ? a.model + " (baseline)" : a.model));
    const box = $("chart-bars");
    box.style.height = Math.max(260, 60 + 28 * rows.length) + "px";
    return Plotly.react(box, [{
      type: "scatter", mode: "markers", x: rows.map((a) => a.value), y: labels,
      error_x: { ...errorBars(rows), color: "#555", thickness: 2, width: 6 }, marker: { size: 10, color: colors },
      customdata: rows.map((a) => [a.lo === null ? "n/a" : fmt(a.lo), a.hi === null ? "n/a" : fmt(a.hi)]),
      hovertemplate: "%{y}: %{x} [%{customdata[0]}, %{customdata[1]}]<extra></extra>",
    }], {
      title: { text: plotText(task) + ": " + plotText(metric) + (higher ? " (higher is better)" : " (lower is better)") + ", 95% CIs; baseline " + plotText(base || "none") },
      margin: { t: 40, r: 20, l: 220, b: 40 }, xaxis: { title: { text: plotText(metric) }, zeroline: false },
      yaxis: { automargin: true }, showlegend: false,
    }, PLOT_CONFIG);
  }
  function heatColor(v) {
    // Diverging blue (positive) / red (negative), white at 0.
    if (v === null) return "#f4f4f6";
    const t = Math.min(1, Math.abs(v));
    const [r, g, b] = v >= 0 ? [33, 102, 172] : [178, 24, 43];
    const mix = (c) => Math.round(255 + (c - 255) * t);
    return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
  }
  function drawHeatmap(task) {
    // An HTML table coloured by value (the partial plotly bundle has no heatmap trace).
    const h = D.heatmaps[task];
    const box = $("chart-heatmap");
    if (!h) { box.replaceChildren(el("p", "Fewer than two metrics for " + task + ".", "muted note")); return; }
    const table = el("table", null, "heat");
    table.appendChild(el("caption", task + ": Spearman over " + h.n + " outputs"));
    const head = el("tr");
    head.appendChild(el("th", ""));
    h.labels.forEach((l) => head.appendChild(el("th", l)));
    table.appendChild(head);
    h.matrix.forEach((line, r) => {
      const tr = el("tr");
      tr.appendChild(el("th", h.labels[r]));
      line.forEach((v, c) => {
        const td = el("td", v === null ? "" : v.toFixed(2), "num");
        td.style.backgroundColor = heatColor(v);
        if (v !== null && Math.abs(v) > 0.6) td.style.color = "#fff";
        td.title = h.labels[r] + " vs " + h.labels[c] + ": " + (v === null ? "n/a" : v);
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    box.replaceChildren(table);
  }
  function redrawCharts() {
    // Plotly.react resolves when a chart is drawn; tests and benchmarks wait for data-charts.
    const task = $("chart-task").value, metric = $("chart-metric").value;
    document.body.dataset.charts = "drawing";
    const drawing = Object.keys(AXES).map((axis) => drawTradeoff(task, metric, axis));
    drawHeatmap(task);
    drawing.push(drawDots(task, metric));
    Promise.all(drawing).then(() => {
      document.body.dataset.charts = "drawn";
      document.body.dataset.chartsMs = String(Math.round(performance.now()));
    });
  }
  function fillMetricSelect(select, task) {
    select.replaceChildren();
    metricsOf(task).forEach((m) => addOption(select, m.name));
  }
  function drawCharts() {
    const taskSel = $("chart-task");
    D.tasks.forEach((t) => addOption(taskSel, t));
    fillMetricSelect($("chart-metric"), taskSel.value);
    taskSel.addEventListener("change", () => { fillMetricSelect($("chart-metric"), taskSel.value); redrawCharts(); });
    $("chart-metric").addEventListener("change", redrawCharts);
    if (!D.tasks.length) { document.body.dataset.charts = "drawn"; return; }
    redrawCharts();
  }

  // ---------- scorers: agreement with humans against cost ----------
  function drawScorerPareto() {
    const P = D.scorerPareto || {}, box = $("chart-scorers");
    const task = $("sp-task").value, dim = $("sp-dim").value, level = $("sp-level").value;
    const t = P[task];
    const rows = t.points.filter((p) => p.s1k !== null && p.agree[dim] && p.agree[dim][level] && p.agree[dim][level][0] !== null);
    const missing = t.points.filter((p) => !rows.includes(p)).map((p) => p.metric);
    const traces = rows.map((p, k) => {
      const [v, lo, hi] = p.agree[dim][level];
      const name = plotText(p.metric + (p.scorer && p.scorer !== p.metric ? " (" + p.scorer + ")" : ""));
      return {
        type: "scatter", mode: "markers", name, x: [p.s1k], y: [v],
        error_y: { type: "data", symmetric: false, array: [hi === null ? 0 : hi - v], arrayminus: [lo === null ? 0 : v - lo] },
        marker: { size: 11, symbol: SYMBOLS[k % SYMBOLS.length] },
        hovertemplate: name + "<br>τ %{y} [" + fmt(lo) + ", " + fmt(hi) + "]<br>%{x} s / 1,000 samples<extra></extra>",
      };
    });
    const front = rows.filter((p) => (t.frontier[dim] || {})[level] && t.frontier[dim][level].includes(p.metric)).sort((a, b) => a.s1k - b.s1k);
    const dominant = front.length === 1;
    traces.push({
      type: "scatter", mode: dominant ? "markers" : "lines", line: { dash: "dot", color: "#444" },
      name: dominant ? "Pareto frontier: " + plotText(front[0].metric) + " dominates" : "Pareto frontier",
      marker: { size: 22, symbol: "circle-open", color: "#444" },
      x: front.map((p) => p.s1k), y: front.map((p) => p.agree[dim][level][0]), hoverinfo: "skip",
    });
    box.dataset.points = String(rows.length);
    box.dataset.frontier = front.map((p) => p.metric).join(",");
    return Plotly.react(box, traces, {
      title: { text: plotText(task + ": Kendall τ with " + dim + " (" + level + " level) vs scorer cost" + (missing.length ? "; not measured: " + missing.join(", ") : "")) },
      margin: { t: 50, r: 10, l: 60, b: 50 }, showlegend: true, legend: { orientation: "v" },
      xaxis: { title: { text: "scorer seconds per 1,000 samples (log)" }, type: "log" },
      yaxis: { title: { text: "Kendall τ with " + plotText(dim) } },
    }, PLOT_CONFIG);
  }
  function initScorerPareto() {
    const P = D.scorerPareto || {};
    const taskSel = $("sp-task");
    if (!taskSel || !Object.keys(P).length) return;
    Object.keys(P).forEach((t) => addOption(taskSel, t));
    const fill = () => {
      const t = P[taskSel.value];
      const dimSel = $("sp-dim"), levelSel = $("sp-level");
      dimSel.replaceChildren(); levelSel.replaceChildren();
      t.dimensions.forEach((d) => addOption(dimSel, d));
      t.levels.forEach((l) => addOption(levelSel, l));
    };
    fill();
    taskSel.addEventListener("change", () => { fill(); drawScorerPareto(); });
    ["sp-dim", "sp-level"].forEach((id) => $(id).addEventListener("change", drawScorerPareto));
    drawScorerPareto();
  }

  // ---------- sample browser ----------
  const nOut = O.s.length;
  let byLower = null;
  let outputsOfSample = null;
  const spreadCache = {};
  const state = { page: 0, rows: [] };

  function taskOfOutput(i) { return D.tasks[S.task[O.s[i]]]; }
  function metricPos(task, metric) { return metricsOf(task).findIndex((m) => m.name === metric); }
  function valueOf(i, metric) {
    const k = metricPos(taskOfOutput(i), metric);
    return k < 0 ? null : O.v[i][k];
  }
  function groupsBySample() {
    if (!outputsOfSample) {
      outputsOfSample = Array.from({ length: S.id.length }, () => []);
      for (let i = 0; i < nOut; i++) outputsOfSample[O.s[i]].push(i);
    }
    return outputsOfSample;
  }
  function spread(metric) {
    if (!spreadCache[metric]) {
      const groups = groupsBySample();
      spreadCache[metric] = groups.map((outs) => {
        let lo = Infinity, hi = -Infinity;
        outs.forEach((i) => { const v = valueOf(i, metric); if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
        return hi >= lo ? hi - lo : -1;
      });
    }
    return spreadCache[metric];
  }
  function lowered() {
    if (!byLower) {
      byLower = { text: O.t.map((t) => t.toLowerCase()), input: S.input.map((t) => t.toLowerCase()), id: S.id.map((t) => t.toLowerCase()) };
    }
    return byLower;
  }
  function selectedModels() {
    const set = new Set();
    document.querySelectorAll("#f-models input:checked").forEach((c) => set.add(Number(c.value)));
    return set;
  }
  function filterOutputs() {
    const task = $("f-task").value, metric = $("f-metric").value;
    const lo = $("f-min").value === "" ? -Infinity : Number($("f-min").value);
    const hi = $("f-max").value === "" ? Infinity : Number($("f-max").value);
    const failedOnly = $("f-status").value === "failed";
    const query = $("f-search").value.trim().toLowerCase();
    const models = selectedModels();
    const ranged = lo !== -Infinity || hi !== Infinity;
    const low = query ? lowered() : null;
    const rows = [];
    for (let i = 0; i < nOut; i++) {
      if (!models.has(O.m[i])) continue;
      if (task !== "*" && taskOfOutput(i) !== task) continue;
      if (failedOnly && !(String(i) in O.e) && !(String(i) in O.f)) continue;
      if (ranged) { const v = valueOf(i, metric); if (v === null || v < lo || v > hi) continue; }
      if (low && !low.text[i].includes(query) && !low.input[O.s[i]].includes(query) && !low.id[O.s[i]].includes(query)) continue;
      rows.push(i);
    }
    const sort = $("f-sort").value;
    const missingLast = (v, sign) => (v === null ? Infinity : sign * v);
    if (sort === "score-asc" || sort === "score-desc") {
      const sign = sort === "score-asc" ? 1 : -1;
      rows.sort((a, b) => missingLast(valueOf(a, metric), sign) - missingLast(valueOf(b, metric), sign) || a - b);
    } else if (sort === "disagree") {
      const sp = spread(metric);
      rows.sort((a, b) => sp[O.s[b]] - sp[O.s[a]] || O.s[a] - O.s[b] || O.m[a] - O.m[b]);
    }
    state.rows = rows;
    state.page = 0;
    renderPage();
  }
  function failureText(i) {
    if (String(i) in O.e) return "error: " + O.e[i];
    const f = O.f[i];
    return f ? f.map(([, status, why]) => status + (why ? ": " + why : "")).join("; ") : null;
  }
  function renderPage() {
    const metric = $("f-metric").value;
    const body = document.querySelector("#s-table tbody");
    const start = state.page * PAGE;
    const slice = state.rows.slice(start, start + PAGE);
    body.replaceChildren(...slice.map((i) => {
      const tr = el("tr");
      tr.dataset.output = String(i);
      tr.appendChild(el("td", taskOfOutput(i)));
      tr.appendChild(el("td", S.id[O.s[i]]));
      tr.appendChild(el("td", D.models[O.m[i]]));
      const failure = String(i) in O.e ? failureText(i) : null;
      const text = O.t[i];
      tr.appendChild(el("td", failure || (text.length > 300 ? text.slice(0, 300) + "…" : text), failure ? "text err" : "text"));
      const v = valueOf(i, metric);
      const k = metricPos(taskOfOutput(i), metric);
      const why = k >= 0 && O.f[i] ? O.f[i].find((f) => f[0] === k) : null;
      tr.appendChild(el("td", why ? why[1] : fmt(v), why ? "num err" : "num"));
      tr.addEventListener("click", () => showDetail(O.s[i]));
      return tr;
    }));
    const total = state.rows.length;
    $("s-count").textContent = total ? `showing ${start + 1}–${start + slice.length} of ${total.toLocaleString("en")} outputs` : "no output matches";
    $("s-page").textContent = `page ${total ? state.page + 1 : 0} of ${Math.ceil(total / PAGE)}`;
    $("s-prev").disabled = state.page === 0;
    $("s-next").disabled = start + PAGE >= total;
  }

  function words(text) { return text.split(/(\s+)/).filter((w) => w !== ""); }
  function tokens(text) { return words(text).filter((w) => !/^\s+$/.test(w)); }
  function lcsTable(a, b, key) {
    const n = a.length, m = b.length;
    const L = new Int32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i * (m + 1) + j] = key(a[i]) === key(b[j]) ? L[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(L[(i + 1) * (m + 1) + j], L[i * (m + 1) + j + 1]);
      }
    }
    return L;
  }
  function caseKey(noCase) { return noCase ? (w) => w.toLowerCase() : (w) => w; }
  function closestReference(output, refs, noCase) {
    // The reference sharing the longest common word sequence with the output (first on ties).
    const b = tokens(output), key = caseKey(noCase);
    let best = 0, bestLen = -1;
    refs.forEach((r, k) => {
      const a = tokens(r);
      const len = a.length * b.length > 4e6 || !a.length || !b.length ? 0 : lcsTable(a, b, key)[0];
      if (len > bestLen) { best = k; bestLen = len; }
    });
    return best;
  }
  function diffNodes(output, reference, noCase) {
    // Word-level LCS diff; whitespace tokens ride along with the words they follow.
    const a = tokens(reference), b = tokens(output), key = caseKey(noCase);
    const n = a.length, m = b.length;
    if (!n || n * m > 4e6) return [document.createTextNode(output)];
    const L = lcsTable(a, b, key);
    const nodes = [];
    let i = 0, j = 0;
    const push = (tag, w) => { nodes.push(tag ? el(tag, w) : document.createTextNode(w)); nodes.push(document.createTextNode(" ")); };
    while (i < n && j < m) {
      if (key(a[i]) === key(b[j])) { push(null, b[j]); i++; j++; }
      else if (L[(i + 1) * (m + 1) + j] >= L[i * (m + 1) + j + 1]) { push("del", a[i]); i++; }
      else { push("ins", b[j]); j++; }
    }
    while (i < n) push("del", a[i++]);
    while (j < m) push("ins", b[j++]);
    return nodes;
  }
  let shownSample = null;
  function showDetail(sample) {
    shownSample = sample;
    const task = D.tasks[S.task[sample]];
    $("detail").hidden = false;
    $("d-title").textContent = task + " / " + S.id[sample];
    $("d-input").textContent = S.input[sample];
    const refs = S.refs[sample];
    $("d-refs").replaceChildren(...(refs.length ? refs.map((r) => el("p", r, "ref")) : [el("p", "no reference", "muted")]));
    const models = selectedModels();
    const cards = groupsBySample()[sample].filter((i) => models.has(O.m[i])).map((i) => {
      const card = el("div", null, "card");
      card.dataset.model = D.models[O.m[i]];
      card.appendChild(el("h4", D.models[O.m[i]]));
      const failure = failureText(i);
      if (failure) card.appendChild(el("p", failure, "err"));
      const noCase = $("d-nocase").checked;
      const closest = refs.length ? closestReference(O.t[i], refs, noCase) : -1;
      if (refs.length > 1) card.appendChild(el("p", `diff against reference ${closest + 1} of ${refs.length} (closest)`, "muted diff-ref"));
      const text = el("p", null, "text diff");
      text.replaceChildren(...(refs.length ? diffNodes(O.t[i], refs[closest], noCase) : [document.createTextNode(O.t[i])]));
      card.appendChild(text);
      (O.a[i] || []).forEach(([pipeline, answer]) => {
        const label = "extracted answer" + (pipeline ? " (" + pipeline + ")" : "") + ": ";
        card.appendChild(el("p", label + (answer === "" ? "none (no answer extracted)" : answer), "extracted"));
      });
      const human = (O.h || {})[i];
      if (human) {
        card.appendChild(el("p", "human ratings: " + Object.entries(human).map(([d, v]) => d + " " + fmt(v)).join(" · "), "human"));
      }
      const scores = el("ul", null, "scores");
      metricsOf(task).forEach((m, k) => { if (O.v[i][k] !== null) scores.appendChild(el("li", m.name + ": " + fmt(O.v[i][k]))); });
      card.appendChild(scores);
      (O.x[i] || []).forEach(([k, why]) => {
        const box = el("details", null, "rationale");
        box.appendChild(el("summary", "judge rationale: " + metricsOf(task)[k].name));
        box.appendChild(el("p", why, "text"));
        card.appendChild(box);
      });
      return card;
    });
    $("d-outputs").replaceChildren(...cards);
    $("detail").scrollIntoView({ block: "start" });
  }

  function metricNames(task) {
    if (task !== "*") return metricsOf(task).map((m) => m.name);
    return [...new Set(D.tasks.flatMap((t) => metricsOf(t).map((m) => m.name)))];
  }
  function initSamples() {
    const taskSel = $("f-task");
    addOption(taskSel, "*", "all tasks");
    D.tasks.forEach((t) => addOption(taskSel, t));
    const fillMetrics = () => { const sel = $("f-metric"); sel.replaceChildren(); metricNames(taskSel.value).forEach((m) => addOption(sel, m)); };
    fillMetrics();
    D.models.forEach((m, k) => {
      const label = el("label");
      const box = el("input");
      box.type = "checkbox"; box.value = String(k); box.checked = true;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + m));
      $("f-models").appendChild(label);
    });
    taskSel.addEventListener("change", () => { fillMetrics(); filterOutputs(); });
    ["f-metric", "f-status", "f-sort", "f-min", "f-max"].forEach((id) => $(id).addEventListener("change", filterOutputs));
    $("f-models").addEventListener("change", filterOutputs);
    let timer = null;
    $("f-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(filterOutputs, 150); });
    $("d-nocase").addEventListener("change", () => { if (shownSample !== null) showDetail(shownSample); });
    $("s-prev").addEventListener("click", () => { state.page -= 1; renderPage(); });
    $("s-next").addEventListener("click", () => { state.page += 1; renderPage(); });
    filterOutputs();
  }

  // ---------- comparison ----------
  function sampleDeltas(task, metric, model, baseline) {
    const k = metricPos(task, metric);
    const sign = higherIsBetter(task, metric) ? 1 : -1;
    const out = [];
    groupsBySample().forEach((outs, sample) => {
      if (D.tasks[S.task[sample]] !== task) return;
      const a = outs.find((i) => D.models[O.m[i]] === baseline), b = outs.find((i) => D.models[O.m[i]] === model);
      if (a === undefined || b === undefined || O.v[a][k] === null || O.v[b][k] === null) return;
      out.push([sample, sign * (O.v[b][k] - O.v[a][k]), O.v[a][k], O.v[b][k]]);
    });
    return out;
  }
  function sampleList(target, items) {
    target.replaceChildren(...items.map(([sample, , before, after]) => {
      const li = el("li");
      const link = el("button", S.id[sample], "link");
      link.addEventListener("click", () => { showTab("samples"); showDetail(sample); });
      li.appendChild(link);
      li.appendChild(document.createTextNode(` ${fmt(before)} → ${fmt(after)}`));
      return li;
    }));
  }
  function withCi(value, ci) { return ci ? `${fmt(value)} [${fmt(ci[0])}, ${fmt(ci[1])}]` : fmt(value); }
  function cellOf(task, model, metric) {
    return D.aggregates.find((a) => a.task === task && a.model === model && a.metric === metric);
  }
  function unstoredRows(task, model, base) {
    // A task with very many models stores paired tests against the rendered baseline only: for
    // another one, the values with their CIs, and no test (the note above the table says so).
    return metricsOf(task).map((m) => {
      const a = cellOf(task, base, m.name), b = cellOf(task, model, m.name);
      const tr = el("tr");
      [task, m.name, b ? b.n : "", a ? withCi(a.value, [a.lo, a.hi]) : "n/a", b ? withCi(b.value, [b.lo, b.hi]) : "n/a",
        a && b && a.value !== null && b.value !== null ? fmt(b.value - a.value) + " (not paired)" : "n/a",
        "not stored", "", "", ""].forEach((v, k) => tr.appendChild(el("td", v, k >= 2 ? "num" : "")));
      return tr;
    });
  }
  function storedRows(task, base) {
    // The paired tests against `base`, each baseline with its own Holm family (built with the report).
    const C = D.comparison, table = (C.by_baseline || {})[task] || {};
    if (!table[base]) return null;
    return table[base].map((values) => {
      const r = { task: task, baseline: base };
      C.fields.forEach((f, k) => { r[f] = values[k]; });
      return r;
    });
  }
  function pValue(p) { return p === null || p === undefined ? "n/a" : p.toPrecision(3); }
  function renderCompare() {
    const C = D.comparison, model = $("c-model").value, task = $("c-task").value, metric = $("c-metric").value;
    const base = currentBaseline(task), stored = storedRows(task, base);
    const note = $("c-note");
    note.hidden = stored !== null;
    note.textContent = stored !== null ? "" : `Paired tests are stored against ${C.baselines[task]} only (this task has too many models to store every pair): the table shows each model's values against ${base} without a test; "evalkit report RUN --baseline '${base}'" renders the tests against it. The sample lists below are recomputed against ${base}.`;
    const body = document.querySelector("#c-table tbody");
    if (stored === null) {
      body.replaceChildren(...(model ? unstoredRows(task, model, base) : []));
    } else {
      body.replaceChildren(...stored.filter((r) => r.model === model).map((r) => {
        const tr = el("tr", null, r.significant ? (r.delta * (higherIsBetter(r.task, r.metric) ? 1 : -1) > 0 ? "better" : "worse") : "");
        [r.task, r.metric, r.n, fmt(r.baseline_value), fmt(r.value),
          `${fmt(r.delta)} [${fmt(r.delta_low)}, ${fmt(r.delta_high)}]`,
          r.test, pValue(r.p_value), pValue(r.p_holm), r.significant ? "yes" : "no"].forEach((v, k) => tr.appendChild(el("td", v, k >= 2 ? "num" : "")));
        return tr;
      }));
    }
    const deltas = model ? sampleDeltas(task, metric, model, base) : [];
    sampleList($("c-worse"), deltas.filter((d) => d[1] < 0).sort((a, b) => a[1] - b[1]).slice(0, 10));
    sampleList($("c-better"), deltas.filter((d) => d[1] > 0).sort((a, b) => b[1] - a[1]).slice(0, 10));
  }
  function initCompare() {
    const C = D.comparison;
    if (!C) { $("compare").appendChild(el("p", "Only one model: nothing to compare.", "muted")); return; }
    const taskSel = $("c-task"), modelSel = $("c-model");
    Object.keys(C.baselines).forEach((t) => addOption(taskSel, t));
    const fill = () => {
      const task = taskSel.value, previous = modelSel.value, base = currentBaseline(task);
      $("c-baseline").textContent = base;
      $("c-baseline-th").textContent = `baseline: ${base}`;
      fillMetricSelect($("c-metric"), task);
      modelSel.replaceChildren();
      (D.taskModels[task] || []).filter((m) => m !== base).forEach((m) => addOption(modelSel, m));
      if ([...modelSel.options].some((o) => o.value === previous)) modelSel.value = previous;
    };
    fill();
    refreshCompare = () => { fill(); renderCompare(); };
    taskSel.addEventListener("change", () => { fill(); renderCompare(); });
    ["c-model", "c-metric"].forEach((id) => $(id).addEventListener("change", renderCompare));
    renderCompare();
  }

  let refreshCompare = null;
  function initBaseline() {
    const sel = $("baseline");
    if (!sel) return;
    D.models.forEach((m) => addOption(sel, m));
    const C = D.comparison;
    const stored = C ? Object.values(C.baselines)[0] : D.models[0];
    if (stored !== undefined) sel.value = stored;
    sel.addEventListener("change", () => {
      if (drawn.charts) redrawCharts();
      if (refreshCompare) refreshCompare();
    });
  }

  initBaseline();
  initSamples();
  initScorerPareto();
  const first = (location.hash || "#summary").slice(1);
  const known = Array.from(document.querySelectorAll("#tabs button")).some((b) => b.dataset.tab === first);
  showTab(known ? first : "summary");
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  document.body.dataset.ready = "1";
})();
