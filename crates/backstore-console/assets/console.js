// backstore console: the one script. It feeds a running restore session's page from the server's
// events (the page works without it: reload to see the progress).
"use strict";

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? n + " B" : value.toFixed(1) + " " + units[unit];
}

function setText(root, field, text) {
  const cell = root.querySelector('[data-field="' + field + '"]');
  if (cell) cell.textContent = text;
}

function showProgress(p) {
  const status = document.getElementById("session-status");
  if (status && p.status) {
    status.textContent = "";
    const badge = document.createElement("span");
    badge.className = "badge s-" + p.status;
    badge.textContent = p.status;
    status.appendChild(badge);
  }
  const overall = document.getElementById("overall");
  if (overall) { overall.max = Math.max(p.bytesTotal || 0, 1); overall.value = p.bytesDone || 0; }
  const text = document.getElementById("overall-text");
  if (text && p.summary) text.textContent = p.summary;
  for (const a of p.value || []) {
    const row = document.querySelector('tr[data-artifact="' + CSS.escape(a.artifactId) + '"]');
    if (!row) continue;
    setText(row, "items", a.itemsDone + " / " + a.itemsTotal);
    setText(row, "bytes", formatBytes(a.bytesDone) + " / " + formatBytes(a.bytesTotal));
    setText(row, "rate", formatBytes(a.bytesPerSecond) + "/s");
    setText(row, "eta", a.etaSeconds + " s");
    setText(row, "status", a.state);
  }
}

function showFailure(f) {
  const main = document.getElementById("main");
  const box = document.createElement("div");
  box.className = "error";
  box.setAttribute("role", "alert");
  box.textContent = f.code + " (" + f.status + "): " + f.message;
  main.insertBefore(box, main.children[1] || null);
}

document.addEventListener("DOMContentLoaded", function () {
  const main = document.querySelector("main[data-events]");
  if (!main || !window.EventSource) return;
  const events = new EventSource(main.dataset.events);
  events.addEventListener("progress", function (e) { showProgress(JSON.parse(e.data)); });
  events.addEventListener("done", function (e) {
    showProgress(JSON.parse(e.data));
    events.close();
    window.location.reload();
  });
  events.addEventListener("failure", function (e) { events.close(); showFailure(JSON.parse(e.data)); });
});
