// The console updates itself: every 2 seconds it fetches the page's JSON and puts the
// figures in place. Without JavaScript the page is complete as served.
(function () {
  "use strict";
  var root = document.querySelector("[data-figures]");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-figures");
  var labels = JSON.parse(root.getAttribute("data-labels") || "{}");
  var rateText = root.getAttribute("data-rate") || "{rate}";
  var lang = document.documentElement.lang === "en" ? "en-GB" : "it-IT";
  var numbers = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  var PERIOD = 2000;

  function get(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value === null || value === undefined ? value : value[key];
    }, data);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? values[key] : all;
    });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    var whole = Math.floor(seconds), h = Math.floor(whole / 3600);
    var m = Math.floor((whole % 3600) / 60), s = whole % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (h) { return h + " h " + pad(m) + " min"; }
    return m ? m + " min " + pad(s) + " s" : s + " s";
  }

  function show(element, value) {
    var format = element.getAttribute("data-format");
    var text;
    if (value === null || value === undefined || value === "") {
      text = format === "ago" ? element.getAttribute("data-never") : "–";
    } else if (format === "number") {
      text = numbers.format(value);
    } else if (format === "state") {
      text = labels[value] || value;
      element.className = "state state-" + value;
    } else if (format === "rate") {
      text = fill(rateText, { rate: numbers.format(value) });
    } else if (format === "duration") {
      text = duration(value);
    } else if (format === "time") {
      text = new Date(value).toLocaleString("it-IT", { timeZone: "Europe/Rome" })
        .replace(",", "");
    } else if (format === "ago") {
      text = fill(document.querySelector("[data-workers]").getAttribute("data-ago"),
                  { n: numbers.format(value) });
    } else {
      text = String(value);
    }
    if (element.textContent !== text) { element.textContent = text; }
  }

  function updateSend(send) {
    var box = document.querySelector('[data-send="' + send.send_id + '"]');
    if (!box) { return false; }
    box.querySelectorAll("[data-field]").forEach(function (element) {
      show(element, get(send, element.getAttribute("data-field")));
    });
    box.querySelectorAll("form[data-states]").forEach(function (form) {
      form.hidden = form.getAttribute("data-states").split(" ").indexOf(send.state) < 0;
    });
    return true;
  }

  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) {
      var td = document.createElement("td");
      td.textContent = cell[0];
      if (cell[1]) { td.className = cell[1]; }
      tr.appendChild(td);
    });
    return tr;
  }

  function none(body, columns) {
    var empty = row([[body.getAttribute("data-none")]]);
    empty.firstChild.colSpan = columns;
    return empty;
  }

  function updateWorkers(system) {
    var body = document.querySelector("[data-workers]");
    if (!body) { return; }
    var rows = system.workers.map(function (w) {
      var doing = w.busy ? fill(body.getAttribute("data-batch"), {
        send: w.send_id, batch: w.batch_id, done: numbers.format(w.done),
        claimed: numbers.format(w.claimed) }) : body.getAttribute("data-idle");
      var seen = fill(body.getAttribute("data-ago"), { n: numbers.format(w.seen_seconds_ago) });
      return row([[w.host + ":" + w.pid], [doing], [seen]]);
    });
    body.replaceChildren.apply(body, rows.length ? rows : [none(body, 3)]);
  }

  function updateSystem(system) {
    document.querySelectorAll("[data-system]").forEach(function (element) {
      var path = element.getAttribute("data-system");
      if (path === "problem") {
        element.hidden = system.available;
      } else {
        show(element, get(system, path));
      }
    });
    updateWorkers(system);
  }

  function updateFailures(failures) {
    var body = document.querySelector("[data-failures]");
    if (!body || !failures) { return; }
    var rows = failures.map(function (g) {
      return row([[numbers.format(g.count), "num"], [labels[g.status] || g.status],
                  [g.code === null ? "–" : String(g.code)], [g.reply]]);
    });
    body.replaceChildren.apply(body, rows.length ? rows : [none(body, 4)]);
  }

  function update(data) {
    var sends = data.sends || [data.send];
    var missing = sends.some(function (send) { return !updateSend(send); });
    if (missing && data.sends) { window.location.reload(); return; }  // a new send appeared
    updateFailures(data.failures);
    updateSystem(data.system);
  }

  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () { /* offline for a moment: the next tick tries again */ })
      .then(function () { window.setTimeout(tick, PERIOD); });
  }

  document.querySelectorAll("[data-live]").forEach(function (note) { note.hidden = false; });
  window.setTimeout(tick, PERIOD);
})();
