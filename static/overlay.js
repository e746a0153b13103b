// overlay.js: the browser-source page. It reads its settings from the JSON
// block #overlay-config, listens to location.pathname + "/events" (an
// EventSource reconnects by itself and sends Last-Event-ID, so the server
// replays what was missed) and shows each update by its type. Text from
// chat is set with textContent only; the one place HTML is used is the text
// source, whose HTML the server sanitised. The hub's preview of an alert's
// look uses the same page with a sample alert in its settings instead.
(function () {
  "use strict";

  var cfg = {};
  try {
    cfg = JSON.parse(document.getElementById("overlay-config").textContent) || {};
  } catch (e) {
    cfg = {};
  }
  var root = document.getElementById("overlay");

  function el(tag, cls, testid) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (testid) {
      e.setAttribute("data-testid", testid);
    }
    return e;
  }

  function seconds(u, def) {
    var s = Number(u.seconds);
    return (s > 0 ? s : def) * 1000;
  }

  // ---- Alerts: queued, one at a time, never on top of each other. ----
  // Each alert has a preset (a look in overlay.css, class "preset-<id>"):
  // it enters with the class "alert-in", leaves with "alert-out", and is
  // removed once the way out has played.
  var presets = { pop: true, slide: true, minimal: true };
  var outMs = 400; // the longest way out in overlay.css, plus a little
  var alerts = [];
  var playing = false;

  function presetOf(u) {
    if (presets[u.preset] === true) {
      return u.preset;
    }
    return presets[cfg.preset] === true ? cfg.preset : "pop";
  }

  function volumeOf(u) {
    var v = Number(u.volume) || Number(cfg.volume) || 80;
    return Math.min(Math.max(v, 0), 100) / 100;
  }

  function playNext() {
    if (playing || alerts.length === 0) {
      return;
    }
    playing = true;
    var u = alerts.shift();
    var preset = presetOf(u);
    var box = el("div", "alert preset-" + preset + " alert-in", "overlay-alert");
    box.setAttribute("data-preset", preset);
    if (u.test) {
      box.setAttribute("data-test", "true");
    }
    var panel = el("div", "alert-panel", "overlay-alert-panel");
    if (u.image) {
      var img = el("img", "alert-image");
      img.alt = "";
      img.src = u.image;
      panel.appendChild(img);
    }
    var p = el("p", "alert-text", "overlay-alert-text");
    p.textContent = u.message || u.user || "";
    panel.appendChild(p);
    box.appendChild(panel);
    root.appendChild(box);
    if (u.sound && !cfg.preview) {
      var a = new Audio(u.sound);
      a.volume = volumeOf(u);
      var played = a.play();
      if (played && played.catch) {
        played.catch(function () {}); // autoplay refused: the alert still shows
      }
    }
    setTimeout(function () {
      box.classList.remove("alert-in");
      box.classList.add("alert-out");
      setTimeout(function () {
        box.remove();
        if (cfg.preview) {
          alerts.push(u); // the hub's preview plays its sample again and again
        }
        // A short gap, so two alerts in a row read as two.
        setTimeout(function () {
          playing = false;
          playNext();
        }, cfg.preview ? 900 : 250);
      }, outMs);
    }, seconds(u, 5));
  }

  // ---- Ticker ----
  function ticker(text) {
    var old = root.querySelector(".ticker");
    if (old) {
      old.remove();
    }
    if (!text) {
      return;
    }
    var bar = el("div", "ticker");
    var span = el("span", "ticker-text", "overlay-ticker");
    span.textContent = text;
    bar.appendChild(span);
    root.appendChild(bar);
  }

  // ---- Text: server-sanitised HTML. ----
  function text(html) {
    var box = root.querySelector(".text");
    if (!box) {
      box = el("div", "text", "overlay-text");
      root.appendChild(box);
    }
    box.innerHTML = html || "";
  }

  // ---- Media: an image or a video for a while. ----
  var mediaTimer = null;
  function media(u) {
    var old = root.querySelector(".media");
    if (old) {
      old.remove();
    }
    clearTimeout(mediaTimer);
    var box = el("div", "media", "overlay-media");
    var m;
    if (u.video) {
      m = el("video");
      m.src = u.video;
      m.autoplay = true;
      m.muted = false;
      m.playsInline = true;
    } else if (u.image) {
      m = el("img");
      m.alt = "";
      m.src = u.image;
    } else {
      return;
    }
    box.appendChild(m);
    root.appendChild(box);
    mediaTimer = setTimeout(function () { box.remove(); }, seconds(u, 10));
  }

  // ---- Leaderboard ----
  function leaderboard(entries) {
    var old = root.querySelector(".leaderboard");
    if (old) {
      old.remove();
    }
    var list = el("ol", "leaderboard", "overlay-leaderboard");
    var top = cfg.top > 0 ? cfg.top : 10;
    (entries || []).slice(0, top).forEach(function (e) {
      var li = el("li", "", "overlay-leaderboard-entry");
      var name = el("span", "name");
      name.textContent = e.name;
      var pts = el("span", "points");
      pts.textContent = String(e.points);
      li.appendChild(name);
      li.appendChild(pts);
      list.appendChild(li);
    });
    root.appendChild(list);
  }

  // ---- Chat: the last N lines. ----
  function chat(u) {
    var box = root.querySelector(".chat");
    if (!box) {
      box = el("div", "chat", "overlay-chat");
      root.appendChild(box);
    }
    var line = el("div", "chat-line", "overlay-chat-line");
    var user = el("span", "chat-user");
    user.textContent = u.user || "";
    var msg = el("span", "chat-message");
    msg.textContent = u.message || "";
    line.appendChild(user);
    line.appendChild(msg);
    box.appendChild(line);
    var keep = cfg.lines > 0 ? cfg.lines : 10;
    while (box.children.length > keep) {
      box.firstChild.remove();
    }
  }

  function show(u) {
    switch (u.type) {
      case "alert":
        alerts.push(u);
        playNext();
        break;
      case "ticker":
        ticker(u.message);
        break;
      case "text":
        text(u.html);
        break;
      case "media":
        media(u);
        break;
      case "leaderboard":
        leaderboard(u.entries);
        break;
      case "chat":
        chat(u);
        break;
    }
  }

  if (cfg.kind === "ticker" && cfg.text) {
    ticker(cfg.text);
  }
  if (cfg.kind === "text" && cfg.html) {
    text(cfg.html);
  }

  // The hub's preview of a look: a sample alert on a loop, no event stream.
  if (cfg.preview) {
    root.setAttribute("data-preview", "true");
    alerts.push(cfg.preview);
    playNext();
    return;
  }

  var es = new EventSource(location.pathname.replace(/\/+$/, "") + "/events");
  es.addEventListener("open", function () {
    root.setAttribute("data-connected", "true");
  });
  es.addEventListener("error", function () {
    root.setAttribute("data-connected", "false");
  });
  es.addEventListener("update", function (ev) {
    var u;
    try {
      u = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (u && typeof u === "object") {
      show(u);
    }
  });
})();
