// The wallboard keeps itself live: it asks the JSON endpoint every few seconds and
// rewrites the figures in place. Without this file the page shows the board as loaded.
(function () {
  "use strict";

  var board = document.getElementById("wallboard");
  if (!board) {
    return;
  }
  var source = board.getAttribute("data-source");
  var every = Number(board.getAttribute("data-poll-seconds")) * 1000 || 5000;
  var body = board.querySelector("tbody");
  var GROUPS = ["counsellors", "interpreters"];
  var STATES = ["available", "busy", "wrap_up", "on_break"];

  function duration(seconds) {
    if (seconds === null || seconds === undefined) {
      return "-";
    }
    if (seconds < 60) {
      return seconds + " s";
    }
    return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  function set(scope, field, text) {
    var cell = scope.querySelector('[data-field="' + field + '"]');
    if (cell && cell.textContent !== String(text)) {
      cell.textContent = String(text);
    }
  }

  function cell(tag, field, text) {
    var made = document.createElement(tag);
    if (tag === "td") {
      made.className = "num";
    }
    if (field) {
      made.setAttribute("data-field", field);
    }
    made.textContent = text;
    return made;
  }

  function rowFor(data) {
    var row = body.querySelector('tr[data-language="' + data.language + '"]');
    if (row) {
      return row;
    }
    row = document.createElement("tr");
    row.setAttribute("data-language", data.language);
    var head = cell("th", null, data.name + " (" + data.language + ")");
    head.setAttribute("scope", "row");
    row.appendChild(head);
    row.appendChild(cell("td", "waiting", ""));
    row.appendChild(cell("td", "longest_wait", ""));
    GROUPS.forEach(function (group) {
      STATES.forEach(function (state) {
        row.appendChild(cell("td", group + "." + state, ""));
      });
    });
    body.appendChild(row);
    return row;
  }

  function show(data) {
    set(board, "waiting", data.waiting);
    set(board, "longest_wait", duration(data.longest_wait));
    set(board, "at", data.at_local);
    board.querySelector('[data-field="staff_unknown"]').hidden = data.staff_known;
    data.rows.forEach(function (line) {
      var row = rowFor(line);
      set(row, "waiting", line.waiting);
      set(row, "longest_wait", duration(line.longest_wait));
      GROUPS.forEach(function (group) {
        STATES.forEach(function (state) {
          set(row, group + "." + state, line[group][state]);
        });
      });
    });
    set(board, "status", "");
  }

  function poll() {
    fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(show)
      .catch(function () {
        set(board, "status", "The board could not be refreshed; trying again.");
      })
      .then(function () {
        window.setTimeout(poll, every);
      });
  }

  window.setTimeout(poll, every);
})();
