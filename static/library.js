// The library page: a file dropped on the zone (or chosen) is uploaded with XMLHttpRequest so its progress shows;
// the session's CSRF token goes in X-CSRF-Token, as for htmx. Then the page reloads to show the file.
(() => {
  const form = document.getElementById("library-upload");
  if (!form) return;
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("library-file");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");

  function send(file) {
    const body = new FormData();
    body.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", headers["X-CSRF-Token"] || "");
    bar.hidden = false;
    bar.value = 0;
    status.textContent = file.name;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = e.loaded / e.total;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 201) return window.location.reload();
      let error = `${xhr.status}`;
      try {
        error = JSON.parse(xhr.responseText).error || error;
      } catch {}
      status.textContent = `${file.name}: ${error}`;
      bar.hidden = true;
    });
    xhr.addEventListener("error", () => {
      status.textContent = `${file.name}: the connection failed`;
      bar.hidden = true;
    });
    xhr.send(body);
  }

  form.addEventListener("submit", (e) => e.preventDefault());
  input.addEventListener("change", () => {
    if (input.files?.[0]) send(input.files[0]);
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer?.files[0];
    if (file) send(file);
  });
})();
