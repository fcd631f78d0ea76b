// Live glue for a printer page and the overview: socket events swap in server-rendered tiles, state panel and
// cards, frames arrive as binary, ages tick, a reconnect catches up. No inline script (CSP).
(() => {
  const S = JSON.parse(document.getElementById("i18n")?.textContent || "{}");
  const $ = (sel, root) => (root || document).querySelector(sel);

  // --- freshness: "12 s" ages, stale past 3x the interval, the device's overall state ---
  function ageText(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    const u = S.units || ["s", "min", "h", "d"];
    if (s < 60) return `${s} ${u[0]}`;
    if (s < 3600) return `${Math.floor(s / 60)} ${u[1]}`;
    if (s < 86400) return `${Math.floor(s / 3600)} ${u[2]}`;
    return `${Math.floor(s / 86400)} ${u[3]}`;
  }
  function tick() {
    let newest = 0,
      shortest = Infinity;
    // Overview cards: stale once nothing came for 3x the interval.
    document.querySelectorAll(".card-info[data-recorded-at]").forEach((card) => {
      const at = Number(card.dataset.recordedAt);
      const interval = (Number(card.dataset.interval) || 10) * 1000;
      card.classList.toggle("stale", !at || Date.now() - at > 3 * interval);
      const age = $(".age", card);
      if (age && at) age.textContent = `(${ageText(at)})`;
    });
    document.querySelectorAll(".tile[data-recorded-at]").forEach((tile) => {
      const at = Number(tile.dataset.recordedAt);
      const interval = (Number(tile.dataset.interval) || 10) * 1000;
      const age = $(".age", tile);
      shortest = Math.min(shortest, interval);
      tile.classList.toggle("no-data", !at);
      if (!at) return;
      tile.classList.toggle("stale", Date.now() - at > 3 * interval);
      if (age) age.textContent = `(${ageText(at)})`;
      newest = Math.max(newest, at);
    });
    // The device is offline once nothing at all has come for 3x its shortest interval.
    const fresh = newest > 0 && Date.now() - newest <= 3 * shortest;
    const state = $("#device-state");
    if (state) {
      const kind = !newest ? "never" : fresh ? "online" : "offline";
      state.dataset.state = kind;
      state.textContent =
        kind === "never"
          ? S.deviceNeverSeen
          : (kind === "online" ? S.deviceOnline : S.deviceOffline) +
            " · " +
            String(S.lastHeard || "{age}").replace("{age}", ageText(newest));
    }
  }

  // --- swapping server-rendered HTML (the same components that rendered the page) ---
  function fragment(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = String(html).trim();
    return tpl.content.firstElementChild;
  }
  function swap(id, html) {
    const old = document.getElementById(id);
    const node = html && fragment(html);
    if (!old || !node) return;
    old.replaceWith(node);
    if (window.htmx) window.htmx.process(node);
  }

  // --- frames: binary in, object URLs out (released), only the newest shown when behind ---
  const STRIP_MAX = 10;
  let liveUrl = null,
    pending = null,
    scheduled = false;
  function showFrame() {
    scheduled = false;
    const f = pending;
    pending = null;
    const tile = $("#tile-image");
    if (!f || !tile) return;
    // The viewer chose one camera: frames of the other only go to the strip.
    const only = cameraChoice();
    const shown = !only || !f.source || f.source === only;
    const blob = new Blob([f.image], { type: f.mime || "image/jpeg" });
    if (shown) showInTile(tile, f, blob);
    const strip = $("#frames-strip");
    if (strip) {
      const a = document.createElement("a");
      a.href = `/frames/${f.id}.jpg`;
      a.target = "_blank";
      a.rel = "noopener";
      a.dataset.frameId = String(f.id);
      a.dataset.source = f.source || "device";
      const thumb = document.createElement("img");
      thumb.src = URL.createObjectURL(blob);
      thumb.alt = "";
      a.append(thumb);
      strip.prepend(a);
      while (strip.children.length > STRIP_MAX) {
        const gone = strip.lastElementChild;
        const src = gone.querySelector("img")?.src;
        if (src?.startsWith("blob:")) URL.revokeObjectURL(src);
        gone.remove();
      }
    }
    tick();
  }
  function showInTile(tile, f, blob) {
    const link = $(".frame", tile);
    let img = $("img", link);
    if (!img) {
      link.textContent = "";
      img = document.createElement("img");
      img.id = "live-image";
      img.alt = link.dataset.alt || "";
      link.title = link.dataset.title || "";
      link.target = "_blank";
      link.rel = "noopener";
      link.append(img);
    }
    const url = URL.createObjectURL(blob);
    img.src = url;
    if (liveUrl) URL.revokeObjectURL(liveUrl);
    liveUrl = url;
    link.href = `/frames/${f.id}.jpg`;
    tile.dataset.recordedAt = String(f.recorded_at);
    const stamp = f.stamp && fragment(f.stamp);
    if (stamp) $(".stamp", tile).replaceWith(stamp);
  }

  // --- camera choice (a printer with both a camera Pi and its own camera) ---
  const cameraChoice = () => sessionStorage.getItem(`camera-${printerId}`) || "";
  function applyCameraChoice() {
    const only = cameraChoice();
    document.querySelectorAll("[data-camera-source]").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.cameraSource === only));
      b.classList.toggle("active", b.dataset.cameraSource === only);
    });
    const newest = $(`#frames-strip a${only ? `[data-source="${only}"]` : ""}`);
    const img = $("#live-image");
    if (newest && img) {
      img.src = newest.href;
      img.closest("a").href = newest.href;
    }
  }
  document.addEventListener("click", (e) => {
    const button = e.target.closest?.("[data-camera-source]");
    if (!button) return;
    sessionStorage.setItem(`camera-${printerId}`, button.dataset.cameraSource);
    applyCameraChoice();
  });
  function releaseAll(root) {
    root.querySelectorAll("img").forEach((i) => {
      if (i.src.startsWith("blob:")) URL.revokeObjectURL(i.src);
    });
    liveUrl = null;
  }

  // --- live connection ---
  const conn = $("#conn");
  function setConn(state) {
    if (!conn) return;
    conn.dataset.state = state;
    conn.textContent = S[state] || state;
  }
  const dash = $(".dashboard[data-printer-id]");
  const printerId = dash ? Number(dash.dataset.printerId) : 1;
  function catchUp() {
    if (document.body.dataset.page === "overview") {
      window.location.reload();
      return;
    }
    fetch(`/printers/${printerId}/partials/tiles`, { credentials: "same-origin" })
      .then((res) => {
        if (res.status === 401 || res.redirected) {
          window.location.reload();
          return null;
        }
        return res.ok ? res.text() : null;
      })
      .then((html) => {
        const old = $("#live-tiles");
        if (!html || !old) return;
        releaseAll(old);
        swap("live-tiles", html);
        applyCameraChoice();
        tick();
      })
      .catch(() => {});
  }

  // --- overview cards: text swapped from the server's render, pictures as object URLs ---
  const cardUrls = new Map();
  function showCardFrame(f) {
    const link = $(`#card-${f.printer_id} .card-img`);
    if (!link) return;
    let img = $("img", link);
    if (!img) {
      link.textContent = "";
      img = document.createElement("img");
      img.alt = "";
      link.append(img);
    }
    const url = URL.createObjectURL(new Blob([f.image], { type: f.mime || "image/jpeg" }));
    img.src = url;
    link.dataset.frameId = String(f.id);
    if (cardUrls.has(f.printer_id)) URL.revokeObjectURL(cardUrls.get(f.printer_id));
    cardUrls.set(f.printer_id, url);
  }
  function startOverview(socket) {
    socket.on("printer_card", (c) => {
      if (!c?.html) return;
      swap(`card-${c.printer_id}-info`, c.html);
      // The card's edge follows its state, named on the badge.
      const card = $(`#card-${c.printer_id}`);
      const kind = $(`#card-${c.printer_id}-info .state-badge`)?.className;
      if (card && kind) card.className = `printer-card ${kind.replace("state-badge ", "")}`;
      tick();
    });
    socket.on("image2v", (f) => {
      if (f?.image) showCardFrame(f);
    });
  }

  function startSocket() {
    const page = document.body.dataset.page;
    if (!window.io || (page !== "dashboard" && page !== "overview")) return;
    const auth = page === "overview" ? { view: "overview" } : { printer: printerId };
    const socket = window.io({ transports: ["websocket", "polling"], reconnectionDelayMax: 5000, auth });
    socket.on("printers_changed", (c) => {
      if (page === "overview" || c?.printer_id === printerId) window.location.reload();
    });
    let wasConnected = false;
    setConn("reconnecting");
    socket.on("connect", () => {
      setConn("live");
      if (wasConnected) catchUp();
      wasConnected = true;
    });
    socket.on("disconnect", () => setConn("reconnecting"));
    // Socket.IO keeps retrying; until one succeeds the page says it is offline.
    socket.on("connect_error", () => setConn("offline"));
    window.addEventListener("offline", () => setConn("offline"));
    if (page === "overview") {
      startOverview(socket);
      return;
    }
    socket.on("printer_state", (s) => {
      if (s?.html?.panel) swap("printer-panel", s.html.panel);
    });
    socket.on("temphum2v", (r) => {
      if (!r?.html) return;
      swap("tile-temperature", r.html.temperature);
      swap("tile-humidity", r.html.humidity);
      tick();
    });
    socket.on("status2v", (s) => {
      if (!s?.html) return;
      swap("tile-status", s.html);
      tick();
    });
    socket.on("image2v", (f) => {
      if (!f?.image) return;
      pending = f;
      if (!scheduled) {
        scheduled = true;
        // A hidden tab runs no animation frames: a timer keeps the newest frame current there too.
        if (document.hidden) setTimeout(showFrame, 250);
        else requestAnimationFrame(showFrame);
      }
    });
  }

  function init() {
    tick();
    if ($("[data-camera-source]")) applyCameraChoice();
    setInterval(tick, 1000);
    startSocket();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
