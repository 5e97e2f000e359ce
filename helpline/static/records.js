// The contact record form: drafts save themselves, non-data calls hide the rest,
// a centre is chosen within its province, and referral rows can be added.
// The form works fully without this file; CSP forbids inline script, so it lives here.
(function () {
  "use strict";

  var form = document.getElementById("record-form");
  if (!form) {
    return;
  }
  var status = document.getElementById("autosave-status");
  var dataFields = document.getElementById("data-fields");
  var SSC = "social_service_centre";

  // --- call type: only a counselling contact keeps the rest -----------------------------
  function syncCallType() {
    var checked = form.querySelector('input[name="call_type"]:checked');
    dataFields.hidden = Boolean(checked) && checked.value !== "data";
  }

  // --- referrals: an SSC comes from the directory, others take a destination -----------
  function syncReferral(row) {
    var kind = row.querySelector('[data-role="kind"]').value;
    var province = row.querySelector('[data-role="province"]').value;
    var centre = row.querySelector('[data-role="centre"]');
    row.querySelector('[data-for-kind="directory"]').hidden = kind !== SSC;
    row.querySelector('[data-for-kind="text"]').hidden = kind === SSC;
    Array.prototype.forEach.call(centre.querySelectorAll("optgroup"), function (group) {
      var other = Boolean(province) && group.label !== province;
      group.hidden = other;
      group.disabled = other;
    });
    var chosen = centre.selectedOptions[0];
    if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) {
      centre.value = "";
    }
  }

  function rows() {
    return form.querySelectorAll("[data-referral-row]");
  }

  // Messages in the reader's language, from the form's data-text-* attributes.
  function text(name, fallback) {
    return form.getAttribute("data-text-" + name) || fallback;
  }

  function addReferral() {
    var all = rows();
    var last = all[all.length - 1];
    var index = all.length;
    var row = last.cloneNode(true);
    row.querySelector("legend").textContent = text("referral", "Referral {n}").replace("{n}", index + 1);
    Array.prototype.forEach.call(row.querySelectorAll("[id], [name], [for], [aria-describedby]"), function (el) {
      ["id", "name", "for", "aria-describedby"].forEach(function (attribute) {
        var value = el.getAttribute(attribute);
        if (value) {
          el.setAttribute(attribute, value.replace(/referrals-\d+-/g, "referrals-" + index + "-"));
        }
      });
    });
    Array.prototype.forEach.call(row.querySelectorAll(".error"), function (el) { el.remove(); });
    Array.prototype.forEach.call(row.querySelectorAll("select, input"), function (el) {
      el.value = "";
      el.removeAttribute("aria-invalid");
    });
    last.parentNode.insertBefore(row, last.nextSibling);
    syncReferral(row);
    row.querySelector('[data-role="kind"]').focus();
  }

  // --- autosave ----------------------------------------------------------------------------
  var url = form.dataset.autosaveUrl;
  var delay = parseInt(form.dataset.autosaveDelay || "3000", 10);
  var timer = null;
  var inflight = null;
  var submitting = false;

  function say(text) {
    status.textContent = text;
  }

  function schedule() {
    if (url && !timer && !submitting) {
      timer = window.setTimeout(save, delay);
    }
  }

  function save() {
    timer = null;
    if (inflight) {
      schedule();
      return inflight;
    }
    var body = new FormData(form);
    inflight = fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        throw new Error(response.status === 403 ? "you may not change this record" : "the server refused it");
      }
      return response.json().then(function (answer) {
        if (!response.ok) {
          throw new Error(answer.message || "the server refused it");
        }
        return answer;
      });
    }).then(function (answer) {
      if (answer.record_url && form.getAttribute("action") !== answer.record_url) {
        // The first save of a new record created it: from now on, save to the record.
        form.setAttribute("action", answer.record_url);
        window.history.replaceState(null, "", answer.record_url);
      }
      url = answer.autosave_url || url;
      form.dataset.autosaveUrl = url;
      say(text("saved", "Draft saved {time}").replace("{time}", answer.saved_at));
    }).catch(function (error) {
      var reason = error && error.message ? error.message : text("offline", "no connection");
      say(text("unsaved", "Draft not saved: {reason}. It will be tried again.").replace("{reason}", reason));
      schedule();
    }).then(function () {
      inflight = null;
    });
    return inflight;
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "call_type") {
      syncCallType();
    }
    var row = event.target.closest("[data-referral-row]");
    if (row) {
      syncReferral(row);
    }
    schedule();
  });
  form.addEventListener("input", schedule);

  // A submit waits for a save in flight, so that a new record is not created twice.
  form.addEventListener("submit", function (event) {
    if (timer) {
      window.clearTimeout(timer);
      timer = null;
    }
    if (inflight) {
      event.preventDefault();
      var submitter = event.submitter;
      inflight.then(function () {
        form.requestSubmit(submitter);
      });
      return;
    }
    submitting = true;
  });

  var add = document.getElementById("add-referral");
  if (add) {
    add.hidden = false;
    add.addEventListener("click", addReferral);
  }
  syncCallType();
  Array.prototype.forEach.call(rows(), syncReferral);

  // After a refused save, start at the list of what to fix.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
}());
