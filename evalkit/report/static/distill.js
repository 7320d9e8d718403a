// Calibration chart of a distilled judge's validation report: data from the JSON block only.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("distill-data").textContent);
  const box = document.getElementById("calibration");
  const traces = [];
  let low = Infinity;
  let high = -Infinity;
  for (const [dim, bins] of Object.entries(data.calibration)) {
    const x = bins.map((b) => b[0]);
    const y = bins.map((b) => b[1]);
    low = Math.min(low, ...x, ...y);
    high = Math.max(high, ...x, ...y);
    traces.push({
      x, y, name: dim, type: "scatter", mode: "lines+markers",
      text: bins.map((b) => `n = ${b[2]}`),
    });
  }
  document.body.dataset.ready = "1";
  if (!traces.length) {
    box.textContent = "No calibration data.";
    box.dataset.charts = "drawn";
    return;
  }
  traces.push({
    x: [low, high], y: [low, high], name: "calibrated", mode: "lines",
    line: { dash: "dot", color: "#999" },
  });
  Plotly.newPlot(box, traces, {
    height: 420, margin: { t: 20 },
    xaxis: { title: { text: "mean prediction" } },
    yaxis: { title: { text: "mean teacher label" } },
  }, { displaylogo: false, responsive: true }).then(() => { box.dataset.charts = "drawn"; });
})();
