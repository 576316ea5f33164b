"use strict";
// Select the line at fault in the textarea, so the editor lands on it.
(function () {
  var area = document.getElementById("source");
  function select(line) {
    var lines = area.value.split("\n");
    var start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    area.focus();
    area.setSelectionRange(start, start + (lines[line - 1] || "").length);
    var height = area.scrollHeight / Math.max(lines.length, 1);
    area.scrollTop = Math.max(0, (line - 5) * height);
  }
  document.querySelectorAll(".goto-line").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      select(parseInt(link.dataset.line, 10));
    });
  });
  if (area.dataset.errorLine) { select(parseInt(area.dataset.errorLine, 10)); }
})();
