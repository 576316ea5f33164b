// The media library's "copy" buttons: each copies its picture's address (data-copy).
// Without JavaScript the buttons stay hidden and the address is there as text to select.
(function () {
  "use strict";
  var status = document.getElementById("copy-status");

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    document.body.removeChild(area);
    return done;
  }

  function copy(button) {
    var text = button.getAttribute("data-copy");
    var copied = (status && status.getAttribute("data-copied")) || "Copied";
    var failed = (status && status.getAttribute("data-copy-failed")) || "Select the text";
    function ok() { say(copied + ": " + text); button.textContent = copied; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(ok, function () {
        if (fallback(text)) { ok(); } else { say(failed); }
      });
    } else if (fallback(text)) {
      ok();
    } else {
      say(failed);
    }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
})();
