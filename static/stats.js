// The statistics page: prints per month by outcome, drawn with Chart.js from the page's JSON. No inline script (CSP).
(() => {
  const data = document.getElementById("stats-data");
  const canvas = document.getElementById("stats-chart");
  if (!data || !canvas || !window.Chart) return;
  const { labels, series } = JSON.parse(data.textContent);
  const css = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();
  const colors = { finished: css("--ok"), failed: css("--err"), cancelled: css("--muted") };
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: series.map((s) => ({ label: s.label, data: s.data, backgroundColor: colors[s.key] })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { stacked: true, ticks: { color: css("--muted") }, grid: { color: css("--line") } },
        y: {
          stacked: true,
          beginAtZero: true,
          ticks: { color: css("--muted"), precision: 0 },
          grid: { color: css("--line") },
        },
      },
      plugins: { legend: { labels: { color: css("--fg") } } },
    },
  });
})();
