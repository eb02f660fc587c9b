// The qrelay console's one script: the job list's optional auto-refresh.
// The checkbox state is kept in sessionStorage so it survives the reloads it causes.
(function () {
  "use strict";
  var box = document.getElementById("autorefresh");
  if (!box) {
    return;
  }
  var key = "qrelay.autorefresh";
  box.checked = window.sessionStorage.getItem(key) === "1";
  var timer = null;
  function arm() {
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    if (box.checked) {
      timer = window.setTimeout(function () { window.location.reload(); }, 2000);
    }
  }
  box.addEventListener("change", function () {
    window.sessionStorage.setItem(key, box.checked ? "1" : "0");
    arm();
  });
  arm();
})();
