// The import's progress, polled every second until it ends; then the page reloads with its report.
// Served from our own origin (the pages' CSP allows only 'self' scripts).
(function () {
  "use strict";
  var box = document.getElementById("progress-box");
  if (!box) { return; }
  var bar = document.getElementById("import-progress");
  var text = document.getElementById("progress-text");
  var url = box.getAttribute("data-progress-url");
  var lang = document.documentElement.lang || "it";
  // As the server writes counts: "4.000" in Italian (Intl would write "4000": CLDR groups
  // Italian numbers from five digits), "4,000" in English.
  var separator = lang === "en" ? "," : ".";
  function group(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, separator); }
  var template = box.getAttribute("data-template");
  var shown = bar.value;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 3000); return; }
        if (job.state !== "running") {
          text.textContent = box.getAttribute("data-done-text");
          window.location.reload();
          return;
        }
        bar.max = job.total;
        bar.value = job.done;
        if (job.done !== shown) {
          shown = job.done;
          text.textContent = template
            .replace("{done}", group(job.done))
            .replace("{total}", group(job.total));
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
