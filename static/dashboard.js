// Live dashboard glue: socket events → tiles, ages that tick, the day chart. No inline script (CSP).
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const conn = $("#conn");
  const labels = { live: "●", reconnecting: "…", offline: "○" };
  const setConn = (state) => { if (conn) { conn.dataset.state = state; conn.textContent = conn.dataset["label" + state[0].toUpperCase() + state.slice(1)] || state; } };

  // --- ages: "12 s ago", stale past 3x the interval ---
  function age(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    if (s < 86400) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  }
  function tickAges() {
    document.querySelectorAll(".tile[data-recorded-at]").forEach((tile) => {
      const at = Number(tile.dataset.recordedAt);
      const el = tile.querySelector(".age");
      if (!at || !el) { tile.classList.add("no-data"); return; }
      tile.classList.remove("no-data");
      el.textContent = "(" + age(at) + ")";
      const interval = Number(tile.dataset.interval) || 10;
      tile.classList.toggle("stale", Date.now() - at > 3 * interval * 1000);
    });
  }
  setInterval(tickAges, 1000);
  tickAges();

  function stamp(tile, ms) {
    tile.dataset.recordedAt = String(ms);
    let p = tile.querySelector(".stamp");
    const d = new Date(ms);
    p.innerHTML = "";
    const t = document.createElement("time");
    t.dateTime = d.toISOString();
    t.textContent = d.toLocaleTimeString();
    const a = document.createElement("span");
    a.className = "age";
    p.append(t, " ", a);
    tickAges();
  }

  // --- live updates ---
  if (window.io && document.body.dataset.page === "dashboard") {
    const socket = window.io({ transports: ["websocket", "polling"] });
    setConn("reconnecting");
    socket.on("connect", () => setConn("live"));
    socket.on("disconnect", () => setConn("reconnecting"));
    socket.io.on("reconnect_failed", () => setConn("offline"));
    socket.on("connect_error", () => setConn("offline"));

    socket.on("temphum2v", (r) => {
      for (const kind of ["temperature", "humidity"]) {
        const tile = $("#tile-" + kind);
        if (!tile) continue;
        tile.querySelector(".value").textContent = Number(r[kind]).toFixed(1) + (kind === "temperature" ? " °C" : " %");
        stamp(tile, r.recorded_at);
      }
    });
    socket.on("status2v", (s) => {
      const tile = $("#tile-status");
      if (!tile) return;
      tile.querySelector(".value").textContent = s.status;
      stamp(tile, s.recorded_at);
    });
    let objectUrl = null;
    socket.on("image2v", (f) => {
      const tile = $("#tile-image");
      if (!tile) return;
      const box = tile.querySelector(".frame");
      let img = box.querySelector("img");
      if (!img) { box.innerHTML = ""; img = document.createElement("img"); img.id = "live-image"; img.alt = ""; box.append(img); }
      const url = URL.createObjectURL(new Blob([f.image], { type: f.mime || "image/jpeg" }));
      img.src = url;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = url;
      stamp(tile, f.recorded_at);
    });
  }

  // --- day chart (Chart.js), drawn on load and after every htmx swap of the panel ---
  let chart = null;
  function drawChart() {
    const panel = $("#chart-panel");
    const dataEl = panel && panel.querySelector(".chart-data");
    const canvas = panel && panel.querySelector("canvas");
    if (chart) { chart.destroy(); chart = null; }
    if (!dataEl || !canvas || !window.Chart) return;
    const d = JSON.parse(dataEl.textContent);
    const fmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: d.zone });
    chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels: d.t.map((ms) => fmt.format(ms)),
        datasets: [
          { label: d.labels.temperature + " (°C)", data: d.temperature, yAxisID: "y", borderColor: "#f97316", pointRadius: 0, borderWidth: 2 },
          { label: d.labels.humidity + " (%)", data: d.humidity, yAxisID: "y1", borderColor: "#0ea5e9", pointRadius: 0, borderWidth: 2 },
        ],
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { position: "left" }, y1: { position: "right", grid: { drawOnChartArea: false } } },
      },
    });
    panel.dataset.drawn = "true";
  }
  document.addEventListener("DOMContentLoaded", drawChart);
  document.body && document.body.addEventListener("htmx:afterSettle", (e) => { if (e.target && e.target.id === "chart-panel") drawChart(); });
  if (document.readyState !== "loading") drawChart();
  void labels;
})();
