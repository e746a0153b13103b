// workflow-runs.js: the "Test run" panel of a workflow's runs page. Without
// script the form posts and the run's page follows; with it, each node's
// status appears as the run goes (static/workflow-testrun.js).
(function () {
  "use strict";
  var words = { succeeded: "Succeeded", failed: "Failed", waiting: "Waiting", skipped: "Skipped", running: "Running", queued: "Queued", cancelled: "Cancelled" };

  function el(tag, cls, text, testid) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text) {
      e.textContent = text;
    }
    if (testid) {
      e.setAttribute("data-testid", testid);
    }
    return e;
  }

  function badge(status) {
    var b = el("span", "badge wf-st wf-st-" + status, words[status] || status, "test-node-status");
    b.setAttribute("data-status", status);
    return b;
  }

  function init() {
    var form = document.querySelector("form[data-test-run]");
    if (!form || !window.startTestRun) {
      return;
    }
    var panel = form.closest("[data-testid=test-run]");
    var list = panel.querySelector("[data-testid=test-run-nodes]");
    var status = panel.querySelector("[data-testid=test-run-status]");
    var area = form.querySelector("textarea[name=payload]");
    var button = form.querySelector("button[type=submit]");
    var fieldError = function (msg) {
      var old = form.querySelector("[data-testid=form-error]");
      if (old) {
        old.remove();
      }
      area.removeAttribute("aria-invalid");
      area.removeAttribute("aria-describedby");
      if (msg) {
        var p = el("p", "field-error", msg, "form-error");
        p.id = "test-payload-error";
        p.setAttribute("data-field", "payload");
        area.after(p);
        area.setAttribute("aria-invalid", "true");
        area.setAttribute("aria-describedby", p.id);
        area.focus();
      }
    };
    var current = null;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (current) {
        current.abort();
      }
      fieldError("");
      list.replaceChildren();
      status.replaceChildren();
      status.textContent = "Running…";
      button.disabled = true;
      current = window.startTestRun(form.dataset.testRun, area.value,
        function (n) {
          var li = el("li", "wf-test-node", "", "test-node");
          li.setAttribute("data-node", n.node);
          li.setAttribute("data-status", n.status);
          li.append(el("strong", "", n.label || n.node, "test-node-label"), " ", badge(n.status), " ", el("span", "muted", n.duration, ""));
          if (n.error) {
            li.append(el("p", "wf-run-error", n.error, "test-node-error"));
          }
          (n.notes || []).forEach(function (note) {
            li.append(el("p", note.indexOf("missing:") === 0 ? "wf-warn" : "muted", note, "test-node-note"));
          });
          if (n.output !== null && n.output !== undefined) {
            var d = el("details", "wf-json", "", "test-node-output");
            d.append(el("summary", "", n.truncated ? "Output (start)" : "Output", ""));
            var pre = el("pre");
            pre.append(el("code", "", typeof n.output === "string" ? n.output : JSON.stringify(n.output, null, 2)));
            d.append(pre);
            li.append(d);
          }
          list.append(li);
        },
        function (done) {
          button.disabled = false;
          current = null;
          status.replaceChildren();
          if (done.status === "refused") {
            if (done.field === "payload") {
              status.textContent = "";
              fieldError(done.error);
            } else {
              status.append(el("span", "wf-run-error", done.error, "test-run-error"));
            }
            return;
          }
          status.append("Test run ", badge(done.status));
          status.querySelector(".badge").setAttribute("data-testid", "test-run-result");
          if (done.error) {
            status.append(" ", el("span", "wf-run-error", done.error, "test-run-error"));
          }
          if (done.url) {
            var a = el("a", "", "See run #" + done.run_id, "test-run-link");
            a.href = done.url;
            status.append(" · ", a);
          }
        });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
