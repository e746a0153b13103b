// workflow-testrun.js: a workflow's live test run, for any hub page.
//
// Contract (the builder and the runs page use it alike):
//
//   var run = window.startTestRun(url, payload, onNode, onDone);
//   run.abort(); // stops listening; the server then stops the run
//
// url     POST /c/{cid}/workflows/{id}/test
// payload the sample trigger payload: a JSON string as typed, or a value
//         (sent as JSON.stringify(value)); at most 64 KiB
// onNode  called once per node execution as it ends, in order, with
//         {seq, node, label, type, status ("succeeded", "failed", "waiting",
//         "skipped"), output (a preview: a string ending in "…" when
//         truncated is true), truncated, error, duration ("1.2ms"),
//         duration_ms, ports, notes, repeated}
// onDone  called exactly once, last, with the run's end
//         {run_id, status, error, failed_node, output, truncated, url}
//         (url: the run's page), or, when the run did not start (bad
//         payload, no right, draft not valid, network), with
//         {status: "refused", error: "what is wrong", field: "payload" or ""}.
//
// The request is one fetch() whose body is read as it streams (server-sent
// events; EventSource cannot POST). Closing the page ends the run.
(function () {
  "use strict";
  if (window.startTestRun) {
    return;
  }

  function parseEvent(block) {
    var name = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) {
        name = line.slice(6).trim();
      } else if (line.indexOf("data:") === 0) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
    });
    if (data.length === 0) {
      return null;
    }
    try {
      return { name: name, data: JSON.parse(data.join("\n")) };
    } catch (e) {
      return null;
    }
  }

  window.startTestRun = function (url, payload, onNode, onDone) {
    var ctrl = new AbortController();
    var finished = false;
    var finish = function (v) {
      if (!finished) {
        finished = true;
        onDone(v);
      }
    };
    var body = new URLSearchParams();
    body.set("payload", typeof payload === "string" ? payload : JSON.stringify(payload));
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "text/event-stream" },
      signal: ctrl.signal,
    })
      .then(function (res) {
        var type = res.headers.get("Content-Type") || "";
        if (!res.ok || type.indexOf("text/event-stream") !== 0) {
          return res.text().then(function (text) {
            var msg = "The test run could not start (HTTP " + res.status + ").";
            var field = "";
            try {
              var j = JSON.parse(text);
              msg = j.error || msg;
              field = j.field || "";
            } catch (e) {
              /* not JSON: keep the generic message */
            }
            finish({ status: "refused", error: msg, field: field });
          });
        }
        var reader = res.body.getReader();
        var decoder = new TextDecoder();
        var buf = "";
        var pump = function () {
          return reader.read().then(function (chunk) {
            if (chunk.done) {
              finish({ status: "refused", error: "The connection ended before the run did.", field: "" });
              return;
            }
            buf += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
            var at;
            while ((at = buf.indexOf("\n\n")) >= 0) {
              var ev = parseEvent(buf.slice(0, at));
              buf = buf.slice(at + 2);
              if (ev && ev.name === "node") {
                onNode(ev.data);
              } else if (ev && ev.name === "done") {
                finish(ev.data);
              }
            }
            return pump();
          });
        };
        return pump();
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") {
          return;
        }
        finish({ status: "refused", error: "The test run could not reach the server.", field: "" });
      });
    return {
      abort: function () {
        finished = true;
        ctrl.abort();
      },
    };
  };
})();
