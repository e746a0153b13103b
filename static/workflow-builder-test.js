// workflow-builder-test.js: the builder's test-run panel. It saves the
// draft, runs it once with the sample payload (workflow-testrun.js), and
// marks each canvas node with its status and a preview of its output as
// the run goes.
(function () {
  "use strict";

  function start() {
    var form = document.querySelector("form[data-wf-test]");
    if (!form || !window.startTestRun) {
      return;
    }
    var msg = form.querySelector("[data-testid=wf-test-message]");
    var button = form.querySelector("button[type=submit]");

    function nodeEl(id) {
      var found = null;
      document.querySelectorAll(".drawflow-node[data-node-id]").forEach(function (el) {
        if (el.getAttribute("data-node-id") === id) {
          found = el;
        }
      });
      return found;
    }

    function clear() {
      document.querySelectorAll(".drawflow-node[data-run-status]").forEach(function (el) {
        el.removeAttribute("data-run-status");
        var out = el.querySelector(".wf-node-run");
        if (out) {
          out.remove();
        }
      });
    }

    function mark(n) {
      var el = nodeEl(n.node);
      if (!el) {
        return;
      }
      el.setAttribute("data-run-status", n.status);
      var out = el.querySelector(".wf-node-run");
      if (!out) {
        out = document.createElement("p");
        out.className = "wf-node-run";
        out.setAttribute("data-testid", "wf-node-run");
        el.querySelector(".drawflow_content_node").appendChild(out);
      }
      var text = n.status + (n.duration ? " · " + n.duration : "");
      var detail = n.error || (n.output === undefined || n.output === null ? "" : (typeof n.output === "string" ? n.output : JSON.stringify(n.output)));
      if (detail) {
        text += ": " + (detail.length > 120 ? detail.slice(0, 120) + "…" : detail);
      }
      out.textContent = text;
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var payload = form.querySelector("textarea[name=payload]").value;
      button.disabled = true;
      msg.textContent = "Saving the draft…";
      var saved = window.wfSaveDraft ? window.wfSaveDraft() : Promise.resolve(true);
      saved.then(function (ok) {
        if (!ok) {
          msg.textContent = "The draft could not be saved: see the problems above.";
          button.disabled = false;
          return;
        }
        clear();
        msg.textContent = "Running…";
        window.startTestRun(form.getAttribute("action"), payload, mark, function (end) {
          button.disabled = false;
          msg.textContent = "";
          if (end.status === "refused") {
            msg.textContent = end.error;
            return;
          }
          msg.append("The test run " + end.status + (end.error ? ": " + end.error : "") + ". ");
          if (end.url) {
            var a = document.createElement("a");
            a.href = end.url;
            a.textContent = "Open run " + end.run_id;
            a.setAttribute("data-testid", "wf-test-run-link");
            msg.append(a);
          }
        });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
