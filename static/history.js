// History chart: the panel's data drawn with Chart.js, again after every htmx swap of the panel.
// No inline script (CSP).
(() => {
  const S = JSON.parse(document.getElementById("i18n")?.textContent || "{}");
  const $ = (sel, root) => (root || document).querySelector(sel);
  // Same locales as the server-rendered stamps (24-hour clock).
  const lang = document.documentElement.lang === "fi" ? "fi-FI" : "en-GB";

  // --- history chart ---
  let chart = null;
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function drawChart() {
    const panel = $("#chart-panel");
    if (!panel || panel.dataset.drawn === "true") return;
    if (chart) {
      chart.destroy();
      chart = null;
    }
    const dataEl = $(".chart-data", panel);
    const canvas = $("canvas", panel);
    if (!dataEl || !canvas || !window.Chart) return;
    const d = JSON.parse(dataEl.textContent);
    const fmt = new Intl.DateTimeFormat(
      lang,
      d.view === "day"
        ? { hour: "2-digit", minute: "2-digit", timeZone: d.zone }
        : d.view === "week"
          ? { weekday: "short", hour: "2-digit", timeZone: d.zone }
          : { day: "numeric", month: "numeric", timeZone: d.zone },
    );
    // A line needs two points: a lone reading is drawn as a dot, or the chart would stay empty.
    const dot = (data) => (data.filter((v) => v !== null && v !== undefined).length === 1 ? 4 : 0);
    const temp = css("--temp") || "#ea580c",
      hum = css("--hum") || "#0284c7";
    window.Chart.defaults.color = css("--muted") || "#666";
    window.Chart.defaults.borderColor = css("--line") || "#ddd";
    const datasets = [
      {
        label: `${S.temperature} (°C)`,
        data: d.temperature,
        yAxisID: "y",
        borderColor: temp,
        backgroundColor: temp,
        pointRadius: dot(d.temperature),
        borderWidth: 2,
        spanGaps: true,
      },
      {
        label: `${S.humidity} (%)`,
        data: d.humidity,
        yAxisID: "y1",
        borderColor: hum,
        backgroundColor: hum,
        pointRadius: dot(d.humidity),
        borderWidth: 2,
        spanGaps: true,
      },
    ];
    if (d.dewPoint)
      datasets.push({
        label: `${S.dewPoint} (°C)`,
        data: d.dewPoint,
        yAxisID: "y",
        borderColor: temp,
        borderDash: [4, 4],
        pointStyle: "rectRot",
        pointRadius: dot(d.dewPoint),
        borderWidth: 1,
        spanGaps: true,
      });
    if (d.temperatureMin) {
      datasets.push({
        label: "min",
        data: d.temperatureMin,
        yAxisID: "y",
        borderWidth: 0,
        pointRadius: 0,
        fill: false,
      });
      datasets.push({
        label: "max",
        data: d.temperatureMax,
        yAxisID: "y",
        borderWidth: 0,
        pointRadius: 0,
        fill: "-1",
        backgroundColor: `${temp}33`,
      });
    }
    chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: d.t.map((ms) => fmt.format(ms)), datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { labels: { filter: (item) => item.text !== "min" && item.text !== "max" } } },
        scales: {
          // A lone point sits mid-axis, under its time, not on the chart's edge.
          x: { offset: d.t.length === 1, ticks: { maxTicksLimit: 8, autoSkip: true } },
          y: { position: "left" },
          y1: { position: "right", grid: { drawOnChartArea: false } },
        },
      },
    });
    panel.dataset.drawn = "true";
  }

  function init() {
    drawChart();
    document.body.addEventListener("htmx:afterSettle", drawChart);
    // Should Chart.js arrive late, draw once everything has loaded (drawing twice is a no-op).
    window.addEventListener("load", drawChart);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
