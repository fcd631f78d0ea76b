// Installs the service worker on every page (an installable app) and, on Settings, lets this browser opt in
// to Web Push. No inline script (CSP).
(() => {
  if (!("serviceWorker" in navigator)) return;
  const ready = navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(() => navigator.serviceWorker.ready);
  const button = document.getElementById("push-subscribe");
  const state = document.getElementById("push-state");
  if (!button || !("PushManager" in window)) return;
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  const api = (method, body) =>
    fetch("/api/push/subscription", {
      method,
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    });
  const b64 = (s) => {
    const raw = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };
  async function show() {
    const reg = await ready;
    const sub = await reg.pushManager.getSubscription();
    button.hidden = false;
    button.textContent = sub ? button.dataset.on : button.dataset.off;
    button.dataset.subscribed = sub ? "true" : "false";
  }
  button.addEventListener("click", async () => {
    try {
      const reg = await ready;
      const current = await reg.pushManager.getSubscription();
      if (current) {
        await api("DELETE", { endpoint: current.endpoint });
        await current.unsubscribe();
      } else {
        const { publicKey } = await (await fetch("/api/push/key")).json();
        const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(publicKey) });
        const res = await api("POST", sub.toJSON());
        if (!res.ok) throw new Error(`the server said ${res.status}`);
      }
      state.textContent = "";
    } catch (err) {
      state.textContent = String(err?.message ?? err);
    }
    show();
  });
  show();
})();
