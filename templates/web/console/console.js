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

  // Changes are announced politely (a send's state, the number of workers alive),
  // never each figure; a button stops and restarts the updates.
  var announcer = document.querySelector("[data-announce]");
  var toggle = document.querySelector("[data-live-toggle]");
  var running = true, timer = null, seenStates = {}, seenWorkers = null;

  function announce(text) {
    if (announcer && text && announcer.textContent !== text) { announcer.textContent = text; }
  }

  function noteState(send) {
    var before = seenStates[send.send_id];
    seenStates[send.send_id] = send.state;
    if (before !== undefined && before !== send.state && announcer) {
      announce(fill(announcer.getAttribute("data-state-text"),
                    { send: send.send_id, state: labels[send.state] || send.state }));
    }
  }

  function noteWorkers(system) {
    var alive = system.available ? system.workers_alive : null;
    if (seenWorkers !== null && alive !== seenWorkers && alive !== null && announcer) {
      announce(fill(announcer.getAttribute("data-workers-text"), { n: alive }));
    }
    seenWorkers = alive;
  }

  function updateSend(send) {
    var box = document.querySelector('[data-send="' + send.send_id + '"]');
    noteState(send);
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
    noteWorkers(system);
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
    timer = null;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && running) { update(data); } })
      .catch(function () { /* offline for a moment: the next tick tries again */ })
      .then(function () { if (running && timer === null) { timer = window.setTimeout(tick, PERIOD); } });
  }

  function setRunning(on) {
    running = on;
    toggle.setAttribute("aria-pressed", on ? "false" : "true");
    toggle.textContent = toggle.getAttribute(on ? "data-pause" : "data-resume");
    document.querySelectorAll("[data-live]").forEach(function (note) {
      note.textContent = toggle.getAttribute(on ? "data-live-text" : "data-paused");
    });
    if (!on && timer !== null) { window.clearTimeout(timer); timer = null; }
    if (on && timer === null) { tick(); }
  }

  document.querySelectorAll("[data-live]").forEach(function (note) { note.hidden = false; });
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () { setRunning(!running); });
  }
  timer = window.setTimeout(tick, PERIOD);
})();
