// Printer controls: applies what the state panel says can be done now (its data-controls, rendered by the server
// with every printer_state) to the admin's buttons: shown, enabled, pressed, and why not. No inline script (CSP).
(() => {
  const $ = (sel, root) => (root || document).querySelector(sel);

  function setVals(button, action) {
    const vals = JSON.parse(button.getAttribute("hx-vals") || "{}");
    vals.action = action;
    button.setAttribute("hx-vals", JSON.stringify(vals));
  }

  function setSwitch(button, on, known, actions) {
    button.setAttribute("aria-checked", String(on));
    const state = $(".switch-state", button);
    if (state) state.textContent = known ? (on ? button.dataset.on : button.dataset.off) : "–";
    setVals(button, on ? actions[1] : actions[0]);
  }

  function apply() {
    const box = $("#printer-controls");
    const raw = $("#printer-panel")?.dataset.controls;
    if (!box || !raw) return;
    const view = JSON.parse(raw);
    box.querySelectorAll("[data-control]").forEach((el) => {
      const name = el.dataset.control;
      el.disabled = !view.enabled[name];
      if (name in view.show) el.hidden = !view.show[name];
      if (name === "speed") el.setAttribute("aria-pressed", String(Number(el.dataset.level) === view.speed));
      if (name === "light") setSwitch(el, view.light === "on", view.light !== null, ["light_on", "light_off"]);
      if (name === "timelapse") setSwitch(el, view.timelapse, true, ["timelapse_start", "timelapse_stop"]);
    });
    const reason = $("[data-reason]", box);
    if (reason) {
      reason.textContent = view.reason;
      reason.hidden = !view.reason;
    }
    box.querySelectorAll("[data-note]").forEach((el) => {
      el.textContent = view.notes[el.dataset.note] || "";
      el.hidden = !el.textContent;
    });
  }

  function init() {
    const dash = $(".dashboard");
    if (!dash || !$("#printer-controls")) return;
    apply();
    // The live script replaces the panel on every printer_state: follow it.
    new MutationObserver(apply).observe(dash, { childList: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
