// The console's live panel: poll a small JSON, fetch the panel again when it changed,
// and count the wrap-up down. Same-origin requests only (CSP default-src 'self').
(function () {
  "use strict";
  var POLL_MS = 2000;
  // The page's own polling is not the person's activity: the session's idle timeout
  // still ends an unattended console (the server then answers with the login page).
  var HEADERS = { "X-Helpline-Background": "1" };

  function panel() { return document.getElementById("live-panel"); }

  function tick() {
    var timer = document.getElementById("wrap-up-timer");
    if (!timer) { return; }
    var left = Math.max(0, Math.round(parseFloat(timer.dataset.until) - Date.now() / 1000));
    var seconds = left % 60;
    timer.textContent = Math.floor(left / 60) + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function swap(html) {
    var old = panel();
    if (!old) { return; }
    var focused = document.activeElement && document.activeElement.id;
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#live-panel");
    if (!fresh) { return; }
    old.replaceWith(fresh);
    if (focused) {
      var again = document.getElementById(focused);
      if (again) { again.focus(); }
    }
    tick();
  }

  function poll() {
    var current = panel();
    if (!current) { return; }
    fetch(current.dataset.pollUrl, {
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Helpline-Background": "1" }
    })
      .then(function (response) {
        if (response.redirected) {  // the session ended: show the login page
          window.location.reload();
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data || data.fingerprint === panel().dataset.fingerprint) { return null; }
        return fetch(current.dataset.panelUrl, { credentials: "same-origin", headers: HEADERS })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html) { swap(html); } });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!panel()) { return; }
    tick();
    window.setInterval(tick, 1000);
    window.setTimeout(poll, POLL_MS);
  });
})();
