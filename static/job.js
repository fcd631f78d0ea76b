// A print's page: the archived frames as a flip-book (play/pause, speed, scrub; space and arrow keys) and
// the room's weather during the print drawn with Chart.js. No inline script (CSP).
(() => {
  const $ = (sel) => document.querySelector(sel);
  const lang = document.documentElement.lang === "fi" ? "fi-FI" : "en-GB";

  function flipbook() {
    const book = $("#flipbook");
    const data = $("#flip-frames");
    if (!book || !data) return;
    const urls = JSON.parse(data.textContent);
    const img = $("#flip-image");
    const scrub = $("#flip-scrub");
    const play = $("#flip-play");
    const speed = $("#flip-speed");
    const position = $("#flip-position");
    let index = urls.length - 1;
    let timer = null;
    // Preload so playback does not stutter on the first pass.
    for (const u of urls) new Image().src = u;
    function show(i) {
      index = (i + urls.length) % urls.length;
      img.src = urls[index];
      img.alt = `${index + 1}/${urls.length}`;
      scrub.value = String(index);
      position.textContent = `${index + 1}/${urls.length}`;
      recorder(index);
    }
    // The flight recorder follows the flip-book: events up to this frame are marked, the newest of them current,
    // and the timelapse video (if any) is put at the same point of the print. A frame's event shows that frame.
    const timeline = $("#timeline");
    const items = timeline ? [...timeline.querySelectorAll("li")] : [];
    function recorder(frame) {
      const mine = items.find((li) => li.dataset.frame === String(frame));
      if (!mine) return;
      const at = Number(mine.dataset.at);
      let last = null;
      for (const li of items) {
        const past = Number(li.dataset.at) <= at;
        li.classList.toggle("past", past);
        li.removeAttribute("aria-current");
        if (past) last = li;
      }
      if (last) last.setAttribute("aria-current", "step");
      const video = $("#timelapse");
      const start = Number(timeline.dataset.start);
      const end = Number(timeline.dataset.end);
      if (video?.duration && end > start) video.currentTime = (video.duration * (at - start)) / (end - start);
    }
    for (const li of items)
      if (li.dataset.frame !== undefined)
        li.addEventListener("click", () => {
          stop();
          show(Number(li.dataset.frame));
        });
    function stop() {
      clearInterval(timer);
      timer = null;
      play.textContent = play.dataset.play;
      book.dataset.playing = "false";
    }
    function start() {
      stop();
      if (index >= urls.length - 1) show(0);
      timer = setInterval(() => (index >= urls.length - 1 ? stop() : show(index + 1)), 1000 / Number(speed.value));
      play.textContent = play.dataset.pause;
      book.dataset.playing = "true";
    }
    play.addEventListener("click", () => (timer ? stop() : start()));
    speed.addEventListener("change", () => timer && start());
    scrub.addEventListener("input", () => {
      stop();
      show(Number(scrub.value));
    });
    book.addEventListener("keydown", (e) => {
      if (e.target === speed) return;
      if (e.key === " ") {
        e.preventDefault();
        timer ? stop() : start();
      } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        e.preventDefault();
        stop();
        show(index + (e.key === "ArrowRight" ? 1 : -1));
      }
    });
  }

  function weather() {
    const el = $("#weather-data");
    const canvas = $("#weather-chart");
    if (!el || !canvas || !window.Chart || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "true";
    const { zone, points } = JSON.parse(el.textContent);
    const css = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();
    const fmt = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone: zone });
    const line = (label, i, color, axis) => ({
      label,
      data: points.map((p) => p[i]),
      borderColor: color,
      backgroundColor: color,
      yAxisID: axis,
      pointRadius: 0,
      borderWidth: 2,
    });
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: points.map((p) => fmt.format(p[0])),
        datasets: [line("°C", 1, css("--temp") || "#c2410c", "y"), line("%", 2, css("--hum") || "#0369a1", "y1")],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { position: "left" }, y1: { position: "right", grid: { drawOnChartArea: false } } },
      },
    });
  }

  function init() {
    flipbook();
    weather();
    window.addEventListener("load", weather, { once: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
