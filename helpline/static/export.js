// The export shows its progress: the CSV is fetched as a stream, its rows are counted
// against the total the page announced, and the file is saved when complete. Without
// this file (or without streams) the form posts as usual and the browser downloads it.
(function () {
  "use strict";

  var form = document.getElementById("export-form");
  var box = document.getElementById("export-progress");
  if (!form || !box || !window.fetch || !window.ReadableStream || !window.TextDecoder) {
    return;
  }
  var bar = document.getElementById("export-bar");
  var status = box.querySelector('[data-field="status"]');
  var total = Number(form.getAttribute("data-rows")) || 0;
  var button = form.querySelector('button[type="submit"]');

  function say(text) {
    status.textContent = text;
  }

  function filename(response) {
    var found = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return found ? found[1] : "calls.csv";
  }

  function save(parts, name) {
    var url = URL.createObjectURL(new Blob(parts, { type: "text/csv" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    window.setTimeout(function () {
      URL.revokeObjectURL(url);
      link.remove();
    }, 1000);
  }

  function read(response) {
    var reader = response.body.getReader();
    var parts = [];
    var lines = 0;
    parts.rows = 0;
    var NEWLINE = 10;
    function next() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          return parts;
        }
        parts.push(chunk.value);
        for (var i = 0; i < chunk.value.length; i++) {
          if (chunk.value[i] === NEWLINE) {
            lines++;
          }
        }
        var rows = Math.max(0, lines - 1); // the header line is not a call
        parts.rows = rows;
        bar.value = Math.min(rows, bar.max);
        say(rows.toLocaleString() + " of " + total.toLocaleString() + " calls written");
        return next();
      });
    }
    return next();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    say("Starting the export of " + total.toLocaleString() + " calls");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("text/csv") !== 0) {
          // A problem with the form: let the server's page say what it is.
          box.hidden = true;
          button.disabled = false;
          HTMLFormElement.prototype.submit.call(form);
          return null;
        }
        var name = filename(response);
        return read(response).then(function (parts) {
          save(parts, name);
          bar.value = bar.max;
          say("Done: " + parts.rows.toLocaleString() + " calls exported to " + name);
          button.disabled = false;
        });
      })
      .catch(function () {
        say("The export was interrupted. Try again.");
        button.disabled = false;
      });
  });
})();
