// Quietline staff dashboard: the only script. No framework, nothing fetched from elsewhere.
(function () {
  "use strict";

  // Idle sign-out on screen too: after the idle limit, reload (as a GET) so the server signs the
  // person out and the page stops showing whatever was on it (client details included).
  var idle = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  if (idle > 0) {
    window.setTimeout(function () {
      window.location.replace(window.location.pathname + window.location.search);
    }, (idle + 5) * 1000);
  }

  // Forms that need a second thought (deactivate, remove) carry data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // One click, one request: a double tap must not claim or resolve twice.
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    }, 0);
  });

  // Back from another page via the browser cache: the page may be stale, so fetch it again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
})();
