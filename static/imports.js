// imports.js: the import progress bar, fed by server-sent events. The page
// names its stream in data-import-progress; each "progress" event carries
// {percent, text, state}, and "done" sends the browser to the report.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box || !window.EventSource) {
    return;
  }
  var bar = box.querySelector("progress");
  var pct = box.querySelector("[data-testid=import-percent]");
  var text = box.querySelector("[data-testid=import-progress-text]");
  var es = new EventSource(box.getAttribute("data-import-progress"));
  es.addEventListener("progress", function (ev) {
    var p = JSON.parse(ev.data);
    bar.value = p.percent;
    bar.textContent = p.percent + " %";
    pct.textContent = p.percent + " %";
    text.textContent = p.text;
  });
  es.addEventListener("done", function () {
    es.close();
    setTimeout(function () { location.assign(box.getAttribute("data-report")); }, 600);
  });
})();
