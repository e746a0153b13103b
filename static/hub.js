// hub.js: small helpers of the hub's pages, without inline script (the CSP forbids it).
// A button with data-copy="ID" copies the value of the input #ID to the clipboard.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var btn = ev.target instanceof Element ? ev.target.closest("[data-copy]") : null;
    if (!btn) {
      return;
    }
    var input = document.getElementById(btn.getAttribute("data-copy"));
    if (!input) {
      return;
    }
    var done = function (ok) {
      var label = btn.getAttribute("data-label") || btn.textContent;
      btn.setAttribute("data-label", label);
      btn.textContent = ok ? "Copied" : "Select and copy it";
      setTimeout(function () { btn.textContent = label; }, 2000);
    };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(false); });
    } else {
      done(false); // the text is selected: Ctrl+C copies it
    }
  });
})();

// The overlays page: the preview of an alerts source's look follows the
// settings form as it is changed, before it is saved. The preview frame has
// data-preview-base (the preview's URL); the look, the follow alert's message
// and image go in its query, where the server checks them as saving would.
(function () {
  "use strict";
  var timers = new WeakMap();
  function refresh(form) {
    var frame = form.querySelector("iframe[data-preview-base]");
    if (!frame) {
      return;
    }
    var q = new URLSearchParams();
    var preset = form.querySelector('input[name="preset"]:checked');
    if (preset) {
      q.set("preset", preset.value);
    }
    var msg = form.querySelector('input[name="template.follow"]');
    if (msg) {
      q.set("message", msg.value);
    }
    var img = form.querySelector('input[name="image.follow"]');
    if (img) {
      q.set("image", img.value);
    }
    var src = frame.getAttribute("data-preview-base") + "?" + q.toString();
    if (frame.getAttribute("src") !== src) {
      frame.setAttribute("src", src);
    }
  }
  function changed(ev) {
    var form = ev.target instanceof Element ? ev.target.closest("form") : null;
    if (!form || !form.querySelector("iframe[data-preview-base]")) {
      return;
    }
    clearTimeout(timers.get(form));
    // A new look shows at once; typing waits until it pauses.
    timers.set(form, setTimeout(function () { refresh(form); }, ev.type === "change" ? 0 : 500));
  }
  document.addEventListener("change", changed);
  document.addEventListener("input", changed);
})();
