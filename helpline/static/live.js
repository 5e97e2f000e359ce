// The console's live regions: the counsellor's panel (#live-panel) and the duty
// supervisor's alerts (#duty-alerts). Each region names a small JSON to poll
// (data-poll-url) and its own HTML (data-panel-url): the HTML is fetched again only when
// the JSON's fingerprint changed. Also counts the wrap-up down. Same-origin requests
// only (CSP default-src 'self').
(function () {
  "use strict";
  if (window.helplineLive) { return; }  // a page may include the script twice
  window.helplineLive = true;
  var POLL_MS = 2000;
  // The page's own polling is not the person's activity: the session's idle timeout
  // still ends an unattended console (the server then answers with the login page).
  var HEADERS = { "X-Helpline-Background": "1" };

  function regions() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-poll-url][data-panel-url]"));
  }

  function tick() {
    var timer = document.getElementById("wrap-up-timer");
    if (!timer) { return; }
    var left = Math.max(0, Math.round(parseFloat(timer.dataset.until) - Date.now() / 1000));
    var seconds = left % 60;
    timer.textContent = Math.floor(left / 60) + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  // The region's element stays (an aria-live region announces only changes inside it):
  // its attributes and content become the fresh ones.
  function swap(id, html) {
    var old = document.getElementById(id);
    if (!old) { return; }
    var focused = document.activeElement && document.activeElement.id;
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#" + id);
    if (!fresh) { return; }
    Array.prototype.forEach.call(fresh.attributes, function (attribute) {
      old.setAttribute(attribute.name, attribute.value);
    });
    old.innerHTML = fresh.innerHTML;
    if (focused) {
      var again = document.getElementById(focused);
      if (again) { again.focus(); }
    }
    tick();
  }

  function pollOne(region) {
    return fetch(region.dataset.pollUrl, {
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
        if (!data || data.fingerprint === region.dataset.fingerprint) { return null; }
        return fetch(region.dataset.panelUrl, { credentials: "same-origin", headers: HEADERS })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html) { swap(region.id, html); } });
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function poll() {
    Promise.all(regions().map(pollOne))
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  // A form swapped in from a region's HTML does not know the page it is on: it comes
  // back here after posting.
  document.addEventListener("submit", function (event) {
    var next = event.target.querySelector && event.target.querySelector("input[name=next]");
    if (next && !next.value) { next.value = window.location.pathname + window.location.search; }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (!regions().length) { return; }
    tick();
    window.setInterval(tick, 1000);
    window.setTimeout(poll, POLL_MS);
  });
})();
