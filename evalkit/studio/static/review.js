// Keyboard shortcuts on the review page: each key clicks the button that names it (data-key).
// The page is rendered by the server; this script never writes HTML.
"use strict";
(function () {
  var form = document.getElementById("judge");
  if (!form) { return; }
  var sent = false;
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); } // one judgment per shown item
    sent = true;
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) { return; }
    var buttons = form.querySelectorAll("button[data-key]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute("data-key") === event.key.toLowerCase()) {
        event.preventDefault();
        buttons[i].click();
        return;
      }
    }
  });
})();
