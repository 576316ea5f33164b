// A send followed live on the desk. Without JavaScript the page is complete as served,
// with a link that refreshes it. With it, the figures come from progress.json every
// 2 seconds; a change of state, and every tenth of the way, is announced in a polite
// live region (never each figure); a button stops and restarts the updates.
(function () {
  "use strict";
  var root = document.getElementById("send-progress");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-progress");
  var toggle = document.getElementById("live-toggle");
  var liveText = document.getElementById("live-text");
  var announce = document.getElementById("live-announce");
  var bar = document.getElementById("progress-bar");
  var PERIOD = 2000;
  var running = true;
  var timer = null;
  var lastState = null, lastTenth = null;

  function text(element, value) {
    if (element && element.textContent !== value) { element.textContent = value; }
  }

  function cell(value) {
    var td = document.createElement("td");
    td.textContent = value;
    return td;
  }

  function failures(groups) {
    var body = document.getElementById("failures");
    if (!body) { return; }
    var rows = groups.map(function (g) {
      var tr = document.createElement("tr");
      [g.count, g.status, g.code, g.reply].forEach(function (v) { tr.appendChild(cell(v)); });
      return tr;
    });
    if (!rows.length) {
      var tr = document.createElement("tr"), td = cell(body.getAttribute("data-none"));
      td.colSpan = 4;
      tr.appendChild(td);
      rows = [tr];
    }
    body.replaceChildren.apply(body, rows);
  }

  function say(data) {
    var tenth = Math.floor(data.percent / 10);
    var changed = lastState !== null && (data.state !== lastState || tenth !== lastTenth);
    if (changed) { text(announce, data.summary); }
    lastState = data.state;
    lastTenth = tenth;
  }

  function update(data) {
    root.querySelectorAll("[data-field]").forEach(function (element) {
      var name = element.getAttribute("data-field");
      if (name === "percent-text") {
        text(element, element.textContent.replace(/\d+%/, data.percent + "%"));
      } else if (name in data) {
        text(element, data[name] === "" ? "–" : String(data[name]));
      }
    });
    var badge = root.querySelector('[data-field="state_label"]');
    if (badge) {
      badge.className = "badge badge-" + data.state;
      badge.setAttribute("data-state", data.state);
    }
    bar.style.width = data.percent + "%";
    bar.setAttribute("aria-valuenow", String(data.percent));
    // Each action is offered in the states that allow it (the server checks again).
    root.querySelectorAll("form[data-states]").forEach(function (form) {
      form.hidden = form.getAttribute("data-states").split(" ").indexOf(data.state) < 0;
    });
    failures(data.failures);
    say(data);
  }

  function tick() {
    timer = null;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () { /* offline for a moment: the next tick tries again */ })
      .then(function () { if (running) { timer = window.setTimeout(tick, PERIOD); } });
  }

  function setRunning(on) {
    running = on;
    toggle.setAttribute("aria-pressed", on ? "false" : "true");
    toggle.textContent = root.getAttribute(on ? "data-pause" : "data-resume");
    text(liveText, root.getAttribute(on ? "data-live-text" : "data-paused"));
    if (on && timer === null) { tick(); }
    if (!on && timer !== null) { window.clearTimeout(timer); timer = null; }
  }

  toggle.hidden = false;
  toggle.addEventListener("click", function () { setRunning(!running); });
  text(liveText, root.getAttribute("data-live-text"));
  lastState = root.querySelector('[data-field="state_label"]').getAttribute("data-state");
  timer = window.setTimeout(tick, PERIOD);
})();
