"use strict";
// The edition form (admin/editor.html): a Markdown toolbar on each article (EasyMDE,
// served from /static/vendor), rows added and removed, pictures picked from the
// library, and the phone and desktop previews refreshed a moment after typing stops.
// Without this file the form is plain fields and still saves.
(function () {
  var form = document.getElementById("edition-form");
  if (!form) { return; }
  var texts = form.dataset;
  var status = document.getElementById("preview-status");
  var frames = [document.getElementById("live-phone"), document.getElementById("live-desktop")];
  var editors = [];
  var DELAY = 300; // ms of quiet typing before the preview is asked for
  var timer = null;
  var asked = 0;

  function toolbar() {
    function button(name, action, title, text) {
      return { name: name, action: action, title: title, text: text || title.charAt(0) };
    }
    return [
      button("bold", EasyMDE.toggleBold, texts.tBold),
      button("italic", EasyMDE.toggleItalic, texts.tItalic),
      button("heading-3", EasyMDE.toggleHeading3, texts.tHeading, "H3"),
      "|",
      button("quote", EasyMDE.toggleBlockquote, texts.tQuote, "\u201c\u201d"),
      button("unordered-list", EasyMDE.toggleUnorderedList, texts.tUl, "\u2022"),
      button("ordered-list", EasyMDE.toggleOrderedList, texts.tOl, "1."),
      button("link", EasyMDE.drawLink, texts.tLink, texts.tLink),
      "|",
      button("undo", EasyMDE.undo, texts.tUndo, "\u21b6")
    ];
  }

  // The code editor's own input gets the field's name, hint and error, which EasyMDE hides.
  function label(area, mde) {
    var cm = mde.codemirror;
    var input = cm.getInputField();
    var labelEl = form.querySelector("label[for='" + area.id + "']");
    input.setAttribute("role", "textbox");
    input.setAttribute("aria-multiline", "true");
    input.setAttribute("aria-label", labelEl ? labelEl.textContent.trim() : area.name);
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (area.hasAttribute(name)) { input.setAttribute(name, area.getAttribute(name)); }
    });
    if (labelEl) { labelEl.addEventListener("click", function () { cm.focus(); }); }
    var toolbarEl = mde.gui.toolbar;
    if (toolbarEl) {
      // A button's name holds its visible label too ("H3 Sottotitolo"), for voice control.
      toolbarEl.querySelectorAll("button").forEach(function (el) {
        var shown = el.textContent.trim();
        var name = el.getAttribute("aria-label") || "";
        if (/[a-z0-9]/i.test(shown) && name.toLowerCase().indexOf(shown.toLowerCase()) < 0) {
          el.setAttribute("aria-label", shown + " " + name);
        }
      });
      toolbarEl.setAttribute("role", "toolbar");
      roving(toolbarEl);
      toolbarEl.setAttribute("aria-label", texts.tToolbar);
    }
  }

  // EasyMDE takes its buttons out of the tab order; a toolbar is one tab stop, arrows move.
  function roving(toolbarEl) {
    var buttons = Array.prototype.slice.call(toolbarEl.querySelectorAll("button"));
    buttons.forEach(function (el, index) { el.tabIndex = index === 0 ? 0 : -1; });
    toolbarEl.addEventListener("keydown", function (event) {
      var at = buttons.indexOf(document.activeElement);
      var last = buttons.length - 1;
      var to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: last }[event.key];
      if (at < 0 || to === undefined) { return; }
      event.preventDefault();
      to = to > last ? 0 : (to < 0 ? last : to);
      buttons[at].tabIndex = -1;
      buttons[to].tabIndex = 0;
      buttons[to].focus();
    });
  }

  function goToLine(mde, line) {
    var cm = mde.codemirror;
    var index = Math.max(0, Math.min(cm.lineCount() - 1, line - 1));
    cm.addLineClass(index, "background", "cm-error-line");
    cm.focus();
    cm.setCursor({ line: index, ch: 0 });
    cm.scrollIntoView({ line: index, ch: 0 }, 80);
  }

  function attach(area) {
    var mde = new EasyMDE({
      element: area,
      toolbar: toolbar(),
      autoDownloadFontAwesome: false, // no CDN: the buttons carry their own short labels
      spellChecker: false, // its dictionaries come from a CDN; the browser's own checker stays
      nativeSpellcheck: true,
      status: false,
      forceSync: true,
      minHeight: "10rem",
      indentWithTabs: false,
      renderingConfig: { codeSyntaxHighlighting: false }
    });
    mde.codemirror.on("change", schedule);
    area.editor = mde;
    editors.push(mde);
    label(area, mde);
    if (area.dataset.errorLine) { goToLine(mde, parseInt(area.dataset.errorLine, 10)); }
    return mde;
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, DELAY);
  }

  function say(text, stale) {
    status.textContent = text;
    status.classList.toggle("stale", Boolean(stale));
  }

  function showProblem(problem) {
    var words = texts.tStale.replace("{problem}", "");
    status.textContent = "";
    status.classList.add("stale");
    status.appendChild(document.createTextNode(words));
    var link = document.createElement("a");
    link.href = "#" + problem.field;
    link.textContent = problem.message;
    link.addEventListener("click", function (event) { event.preventDefault(); focusField(problem.field, problem.line); });
    status.appendChild(link);
  }

  // The frames may be read by this page (no script runs in them): the reader keeps their place.
  function show(frame, html) {
    var y = 0;
    try { y = frame.contentWindow.scrollY; } catch (e) { y = 0; }
    frame.addEventListener("load", function restore() {
      frame.removeEventListener("load", restore);
      try { frame.contentWindow.scrollTo(0, y); } catch (e) { /* nothing to keep */ }
    });
    frame.srcdoc = html;
  }

  function refresh() {
    timer = null;
    editors.forEach(function (mde) { mde.codemirror.save(); });
    var mine = ++asked;
    fetch(form.dataset.previewUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (body) {
        if (mine !== asked) { return; } // a newer request is on its way
        if (body.html) {
          frames.forEach(function (frame) { show(frame, body.html); });
          say(texts.tUpdated, false);
        } else if (body.errors && body.errors.length) {
          showProblem(body.errors[0]);
        } else {
          say(texts.tFailed, true);
        }
      })
      .catch(function () { if (mine === asked) { say(texts.tFailed, true); } });
  }

  function focusField(id, line) {
    var field = document.getElementById(id);
    if (!field) { return; }
    if (field.editor) {
      field.closest(".editor-field").scrollIntoView({ block: "center" });
      if (line) { goToLine(field.editor, line); } else { field.editor.codemirror.focus(); }
    } else {
      field.focus();
    }
  }

  function reveal(root) {
    root.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  }

  function addRow(button) {
    var rows = document.getElementById(button.dataset.rows);
    var template = document.getElementById(button.dataset.template);
    var key = 0;
    rows.querySelectorAll(".editor-row").forEach(function (row) { key = Math.max(key, parseInt(row.dataset.key, 10)); });
    var html = template.innerHTML.split("__KEY__").join(String(key + 1))
      .split("__N__").join(String(rows.querySelectorAll(".editor-row").length + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.firstElementChild;
    rows.appendChild(row);
    reveal(row);
    row.querySelectorAll("textarea.article-body").forEach(attach);
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  }

  function useImage(button) {
    var image = document.getElementById("f-cover-image");
    var alt = document.getElementById("f-cover-image_alt");
    image.value = button.dataset.url;
    if (!alt.value.trim()) { alt.value = button.dataset.alt; }
    alt.focus();
    schedule();
  }

  form.addEventListener("input", schedule);
  form.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target || target.type !== "button") { return; }
    if (target.classList.contains("add-row")) { addRow(target); }
    if (target.classList.contains("use-image")) { useImage(target); }
    if (target.classList.contains("remove-row")) {
      var row = target.closest(".editor-row");
      row.parentNode.removeChild(row);
      schedule();
    }
  });
  document.querySelectorAll(".goto-field").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      focusField(link.dataset.field, link.dataset.line ? parseInt(link.dataset.line, 10) : null);
    });
  });

  reveal(document);
  form.querySelectorAll("textarea.article-body").forEach(attach);
  var summary = document.getElementById("form-errors");
  if (summary) { summary.focus(); }
  refresh();
})();
