// hub.js: small helpers of the hub's pages, without inline script (the CSP forbids it).
(function () {
  "use strict";
  if (window.waddleHub) {
    return; // loaded once, by the layout; guard against a second copy
  }
  window.waddleHub = true;

  // The community's navigation is a sidebar on wide screens and a folded
  // menu on phones: the server sends it open, so it works without script.
  var narrow = window.matchMedia("(max-width: 760px)");
  var fold = function () {
    var menu = document.querySelector(".ws-nav");
    if (menu) {
      menu.open = !narrow.matches;
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fold);
  } else {
    fold();
  }
  if (narrow.addEventListener) {
    narrow.addEventListener("change", fold);
  }

  // A button with data-copy="ID" copies the value of the input #ID to the clipboard.
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

  // Time zones. The browser's zone is taken for a person who never chose
  // one (<body data-time-zone-unset>); the account page offers it when it
  // differs from the saved one and lists the zones the browser knows.
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function offerZone(zone) {
    var body = new URLSearchParams();
    body.set("time_zone", zone);
    body.set("from", "browser");
    return fetch("/account/time-zone", { method: "POST", body: body, credentials: "same-origin" });
  }

  function zoneSetting(zone) {
    var input = document.getElementById("time-zone");
    if (!input) {
      return;
    }
    var list = document.querySelector("[data-time-zones]");
    if (list && !list.firstChild && typeof Intl.supportedValuesOf === "function") {
      Intl.supportedValuesOf("timeZone").forEach(function (z) {
        var opt = document.createElement("option");
        opt.value = z;
        list.appendChild(opt);
      });
    }
    var offer = document.querySelector("[data-browser-zone]");
    if (!offer || !zone || zone === input.getAttribute("data-saved")) {
      return;
    }
    offer.querySelector("[data-browser-zone-name]").textContent = zone;
    offer.hidden = false;
    offer.querySelector("[data-use-browser-zone]").addEventListener("click", function () {
      input.value = zone;
      input.form.requestSubmit();
    });
  }

  function start() {
    var zone = browserZone();
    if (zone && document.body.hasAttribute("data-time-zone-unset")) {
      document.body.removeAttribute("data-time-zone-unset");
      offerZone(zone).then(function (res) {
        if (res.ok) {
          document.body.setAttribute("data-time-zone-offered", zone);
        }
      }, function () {});
    }
    zoneSetting(zone);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// A button with data-insert="TEXT" data-target="ID" puts TEXT into the
// textarea or input #ID at the cursor (replacing a selection), puts the
// cursor after it and tells the field it changed (so a live preview follows).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var btn = ev.target instanceof Element ? ev.target.closest("[data-insert]") : null;
    if (!btn) {
      return;
    }
    var field = document.getElementById(btn.getAttribute("data-target") || "");
    if (!field || typeof field.selectionStart !== "number") {
      return;
    }
    var text = btn.getAttribute("data-insert") || "";
    var start = field.selectionStart;
    var end = field.selectionEnd;
    var max = field.maxLength > 0 ? field.maxLength : Infinity;
    if (field.value.length - (end - start) + text.length > max) {
      return;
    }
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
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

// The simulator: after an answer arrives, the message field (swapped in
// empty, out of band) takes the focus back, so the next message can be
// typed at once — unless the person has moved elsewhere meanwhile.
(function () {
  "use strict";
  document.body.addEventListener("htmx:afterSettle", function (ev) {
    var form = ev.detail && ev.detail.requestConfig ? ev.detail.requestConfig.elt : null;
    if (!form || form.id !== "sim-form") {
      return;
    }
    var active = document.activeElement;
    if (active && active !== document.body && !form.contains(active)) {
      return;
    }
    var text = document.getElementById("sim-text");
    if (text) {
      text.focus();
    }
  });

  // A textarea with data-counter="ID" and a maxlength shows, in #ID, how
  // many characters it holds of its limit as one types.
  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (!(el instanceof HTMLTextAreaElement) || !el.dataset.counter) {
      return;
    }
    var out = document.getElementById(el.dataset.counter);
    if (out) {
      out.textContent = Array.from(el.value).length + " of " + el.maxLength + " characters";
    }
  });
})();
