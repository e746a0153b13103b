// workflow-builder.js: the workflow builder's canvas over Drawflow. The
// server renders the draft, the node types' ports and the validation report
// as JSON (#wf-state); the canvas holds nodes' positions, labels and
// connections; each node's configuration lives on the server and is edited
// in the side panel (HTMX). Drawflow names ports input_N/output_N: they map
// to our port names through each node type's (and node's) port lists.
(function () {
  "use strict";

  function start() {
    var stateEl = document.getElementById("wf-state");
    var container = document.getElementById("wf-canvas");
    if (!stateEl || !container || !window.Drawflow) {
      return;
    }
    var state = JSON.parse(stateEl.textContent);
    var kinds = state.kinds;
    var base = state.base;
    var canManage = state.can_manage;
    var outputsOf = {}; // node id → its output port names
    var known = {}; // node ids the server's draft holds
    var lastReport = state.report;
    var dirty = false;
    var restoring = false;
    var history = [];
    var current = null;
    var message = document.querySelector("[data-testid=wf-message]");
    var panel = document.getElementById("wf-panel");

    var editor = new window.Drawflow(container);
    editor.reroute = false;
    editor.key = function () {}; // keys are ours (below): Delete and Ctrl+Z
    editor.start();
    editor.editor_mode = canManage ? "edit" : "view";

    function escapeHTML(s) {
      return String(s).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    }
    function kindOf(type) {
      return kinds[type] || { title: type, category: "unknown", inputs: ["in"], outputs: ["out"] };
    }
    function nodeHTML(id, type, label) {
      var k = kindOf(type);
      return '<div class="wf-node-title">' + escapeHTML(label || k.title) + "</div>" +
        '<div class="wf-node-sub">' + escapeHTML(id) + " · " + escapeHTML(k.title) + "</div>" +
        '<ul class="wf-node-issues"></ul>';
    }
    function nodeClass(type) {
      return "wf-node cat-" + kindOf(type).category;
    }
    function say(text, isError) {
      message.textContent = text || "";
      message.classList.toggle("error", !!isError);
    }

    // Drawflow's data for a definition: nodes numbered 1…N, ours in data.wid.
    function toDrawflow(def) {
      var data = {};
      var idx = {};
      def.nodes.forEach(function (n, i) { idx[n.id] = String(i + 1); });
      def.nodes.forEach(function (n, i) {
        var k = kindOf(n.type);
        var outs = outputsOf[n.id] || k.outputs;
        var node = {
          id: i + 1, name: n.type, data: { wid: n.id, type: n.type, label: n.label || "" },
          class: nodeClass(n.type), html: nodeHTML(n.id, n.type, n.label), typenode: false,
          inputs: {}, outputs: {}, pos_x: n.position.x, pos_y: n.position.y
        };
        k.inputs.forEach(function (p, j) { node.inputs["input_" + (j + 1)] = { connections: [] }; });
        outs.forEach(function (p, j) { node.outputs["output_" + (j + 1)] = { connections: [] }; });
        data[i + 1] = node;
      });
      def.connections.forEach(function (c) {
        var f = idx[c.from], t = idx[c.to];
        if (!f || !t) {
          return;
        }
        var fi = (outputsOf[c.from] || kindOf(data[f].data.type).outputs).indexOf(c.from_port);
        var ti = kindOf(data[t].data.type).inputs.indexOf(c.to_port);
        if (fi < 0 || ti < 0) {
          return;
        }
        var oc = "output_" + (fi + 1), ic = "input_" + (ti + 1);
        data[f].outputs[oc].connections.push({ node: t, output: ic });
        data[t].inputs[ic].connections.push({ node: f, input: oc });
      });
      return { drawflow: { Home: { data: data } } };
    }

    // The definition the canvas shows, without configurations.
    function toDefinition() {
      var data = editor.export().drawflow.Home.data;
      var nodes = [], conns = [];
      Object.keys(data).forEach(function (id) {
        var n = data[id], d = n.data;
        nodes.push({ id: d.wid, type: d.type, label: d.label || "", position: { x: Math.round(n.pos_x), y: Math.round(n.pos_y) } });
        var outs = outputsOf[d.wid] || kindOf(d.type).outputs;
        Object.keys(n.outputs).forEach(function (oc) {
          var port = outs[parseInt(oc.slice(7), 10) - 1];
          n.outputs[oc].connections.forEach(function (c) {
            var t = data[c.node];
            conns.push({ from: d.wid, from_port: port, to: t.data.wid, to_port: kindOf(t.data.type).inputs[parseInt(c.output.slice(6), 10) - 1] });
          });
        });
      });
      return { nodes: nodes, connections: conns };
    }

    function dfIdOf(wid) {
      var data = editor.drawflow.drawflow.Home.data;
      for (var id in data) {
        if (data[id].data.wid === wid) {
          return id;
        }
      }
      return null;
    }

    // Port names as labels (and tooltips) beside Drawflow's port dots.
    function labelPorts() {
      var data = editor.drawflow.drawflow.Home.data;
      Object.keys(data).forEach(function (id) {
        var el = document.getElementById("node-" + id);
        if (!el) {
          return;
        }
        var d = data[id].data;
        var ins = kindOf(d.type).inputs, outs = outputsOf[d.wid] || kindOf(d.type).outputs;
        el.querySelectorAll(".inputs .input").forEach(function (p, i) {
          p.setAttribute("data-port", ins[i] || "");
          p.title = "input " + (ins[i] || "");
        });
        el.querySelectorAll(".outputs .output").forEach(function (p, i) {
          p.setAttribute("data-port", outs[i] || "");
          p.title = "output " + (outs[i] || "");
        });
        el.setAttribute("data-node-id", d.wid);
        el.setAttribute("data-testid", "wf-node");
      });
    }

    // Validation findings: a red outline and the messages on each node, and
    // the list of everything under the canvas.
    function applyReport(rep) {
      lastReport = rep;
      document.querySelectorAll(".drawflow-node").forEach(function (el) {
        el.classList.remove("wf-has-error", "wf-has-warning");
        var ul = el.querySelector(".wf-node-issues");
        if (ul) {
          ul.textContent = "";
        }
      });
      var list = document.querySelector("[data-testid=wf-issue-list]");
      list.textContent = "";
      var all = rep.errors.map(function (i) { return [i, "error"]; }).concat(rep.warnings.map(function (i) { return [i, "warning"]; }));
      all.forEach(function (pair) {
        var is = pair[0], level = pair[1];
        var li = document.createElement("li");
        li.className = "wf-issue-" + level;
        li.setAttribute("data-testid", "wf-issue");
        li.textContent = (is.node ? is.node + (is.field ? " · " + is.field : "") + ": " : "") + is.message + (level === "warning" ? " (warning)" : "");
        list.appendChild(li);
        var id = is.node ? dfIdOf(is.node) : null;
        var el = id ? document.getElementById("node-" + id) : null;
        if (el) {
          el.classList.add(level === "error" ? "wf-has-error" : "wf-has-warning");
          var item = document.createElement("li");
          item.textContent = (is.field ? is.field + ": " : "") + is.message;
          item.setAttribute("data-testid", "wf-node-issue");
          el.querySelector(".wf-node-issues").appendChild(item);
        }
      });
      list.parentElement.hidden = all.length === 0;
    }

    function snapshot() {
      return { df: editor.export(), outputs: JSON.parse(JSON.stringify(outputsOf)) };
    }
    function load(def) {
      restoring = true;
      editor.import(toDrawflow(def));
      restoring = false;
      labelPorts();
      applyReport(lastReport);
    }

    // Undo: the canvas before each change (a burst of Drawflow events, such
    // as a node and its connections removed, is one change).
    var pending = false;
    function changed() {
      if (restoring) {
        return;
      }
      dirty = true;
      labelPorts();
      if (pending) {
        return;
      }
      pending = true;
      setTimeout(flush, 0);
    }
    // flush records a change whose events have all arrived (or, for an
    // undo that comes first, have arrived so far).
    function flush() {
      if (!pending) {
        return;
      }
      pending = false;
      history.push(current);
      if (history.length > 50) {
        history.shift();
      }
      current = snapshot();
      undoButton(true);
    }
    function undoButton(on) {
      var b = document.querySelector("[data-wf-action=undo]");
      if (b) {
        b.disabled = !on;
      }
    }
    function undo() {
      flush();
      var prev = history.pop();
      if (!prev) {
        return;
      }
      restoring = true;
      outputsOf = prev.outputs;
      editor.import(prev.df);
      restoring = false;
      current = prev;
      dirty = true;
      labelPorts();
      applyReport(lastReport);
      undoButton(history.length > 0);
      showPanel(null);
      say("Undone. Save the draft to keep it.");
    }
    ["nodeCreated", "nodeRemoved", "nodeMoved", "connectionCreated", "connectionRemoved"].forEach(function (ev) {
      editor.on(ev, changed);
    });

    function newID(type) {
      var stem = (type.split("_")[1] || "node").replace(/[^A-Za-z0-9]/g, "");
      var data = editor.drawflow.drawflow.Home.data, used = {};
      Object.keys(data).forEach(function (id) { used[data[id].data.wid] = true; });
      for (var n = 1; ; n++) {
        if (!used[stem + n]) {
          return stem + n;
        }
      }
    }
    function addNode(type, x, y) {
      var k = kindOf(type), wid = newID(type);
      outputsOf[wid] = k.outputs.slice();
      var id = editor.addNode(type, k.inputs.length, k.outputs.length, x, y, nodeClass(type), { wid: wid, type: type, label: "" }, nodeHTML(wid, type, ""));
      labelPorts();
      select(String(id));
      return id;
    }
    function canvasPoint(clientX, clientY) {
      var r = editor.precanvas.getBoundingClientRect();
      return { x: (clientX - r.x) / editor.zoom, y: (clientY - r.y) / editor.zoom };
    }

    // Selecting a node opens its form in the side panel; a node the server
    // does not hold yet is saved with the draft first.
    function select(id) {
      var el = document.getElementById("node-" + id);
      if (!el) {
        return;
      }
      if (editor.node_selected && editor.node_selected !== el) {
        editor.node_selected.classList.remove("selected");
      }
      editor.node_selected = el;
      el.classList.add("selected");
      showPanel(id);
    }
    var shown = null;
    function showPanel(id) {
      var node = id ? editor.getNodeFromId(id) : null;
      if (!node) {
        shown = null;
        panel.innerHTML = '<p class="muted">Select a node to configure it.</p>';
        return;
      }
      shown = node.data.wid;
      var wid = shown;
      var ready = known[wid] || !canManage ? Promise.resolve(true) : save();
      ready.then(function (ok) {
        if (!ok || shown !== wid) {
          return;
        }
        window.htmx.ajax("GET", base + "/nodes/" + encodeURIComponent(wid) + "?type=" + encodeURIComponent(node.data.type), { target: "#wf-panel", swap: "innerHTML" });
      });
    }
    editor.on("nodeSelected", function (id) { showPanel(id); });
    editor.on("nodeRemoved", function () {
      if (shown && !dfIdOf(shown)) {
        showPanel(null);
      }
    });

    // A node's form is saved against the canvas as it is: unsaved changes
    // to the canvas are saved first, so the findings are about what is shown.
    document.body.addEventListener("htmx:confirm", function (ev) {
      if (!dirty || !panel.contains(ev.detail.elt)) {
        return;
      }
      ev.preventDefault();
      save().then(function (ok) {
        if (ok) {
          ev.detail.issueRequest(true);
        }
      });
    });

    // After the panel's form is swapped in: the node's label and ports on
    // the canvas follow its saved configuration, and the report is redrawn.
    document.body.addEventListener("htmx:afterSwap", function (ev) {
      if (ev.detail.target !== panel) {
        return;
      }
      var form = panel.querySelector("[data-testid=node-form]");
      if (!form) {
        return;
      }
      var wid = form.getAttribute("data-node-id"), id = dfIdOf(wid);
      if (id && form.hasAttribute("data-saved")) {
        var node = editor.getNodeFromId(id);
        var label = form.getAttribute("data-node-label");
        node.data.label = label;
        editor.updateNodeDataFromId(id, node.data);
        document.querySelector("#node-" + id + " .wf-node-title").textContent = label || kindOf(node.data.type).title;
        relabel(wid, label);
        syncOutputs(id, wid, JSON.parse(form.getAttribute("data-node-outputs")));
      }
      applyReport(JSON.parse(form.getAttribute("data-report")));
    });
    // A label saved in the panel is the node's in every state undo returns
    // to: it is stored on the server, like the configuration.
    function relabel(wid, label) {
      history.concat([current]).forEach(function (snap) {
        var data = snap.df.drawflow.Home.data;
        Object.keys(data).forEach(function (k) {
          if (data[k].data.wid === wid) {
            data[k].data.label = label;
            data[k].html = nodeHTML(wid, data[k].data.type, label);
          }
        });
      });
    }
    function syncOutputs(id, wid, outs) {
      var node = editor.getNodeFromId(id);
      var n = Object.keys(node.outputs).length;
      if (n === outs.length) {
        outputsOf[wid] = outs;
        labelPorts();
        return;
      }
      while (n < outs.length) {
        editor.addNodeOutput(id);
        n++;
      }
      while (n > outs.length) {
        editor.removeNodeOutput(id, "output_" + n);
        n--;
      }
      outputsOf[wid] = outs;
      changed();
    }

    function request(method, path, body) {
      var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
      if (body !== undefined) {
        opts.headers["Content-Type"] = "application/json";
        opts.body = JSON.stringify(body);
      }
      return fetch(base + path, opts).then(function (res) {
        return res.json().then(function (ans) { return { ok: res.ok, status: res.status, ans: ans }; },
          function () { return { ok: false, status: res.status, ans: { message: "The server's answer could not be read (" + res.status + ")." } }; });
      }, function () {
        return { ok: false, status: 0, ans: { message: "The hub could not be reached: check the connection and try again." } };
      });
    }

    // save stores the canvas as the draft; it resolves to whether it did.
    // The test-run panel saves the draft first (workflow-builder-test.js).
    window.wfSaveDraft = function () { return save(); };

    function save() {
      var def = toDefinition();
      say("Saving…");
      return request("PUT", "/definition", def).then(function (r) {
        if (!r.ok) {
          say(r.ans.message, true);
          return false;
        }
        dirty = false;
        known = {};
        def.nodes.forEach(function (n) { known[n.id] = true; });
        Object.keys(r.ans.outputs || {}).forEach(function (wid) {
          var id = dfIdOf(wid);
          if (id && JSON.stringify(outputsOf[wid]) !== JSON.stringify(r.ans.outputs[wid])) {
            syncOutputs(id, wid, r.ans.outputs[wid]);
          }
        });
        applyReport(r.ans.report);
        say(r.ans.message, !r.ans.ok);
        return true;
      });
    }

    function setStatus(status, version) {
      var badge = document.querySelector("[data-testid=workflow-status]");
      badge.textContent = status;
      badge.className = status === "published" ? "badge state-ok" : status === "archived" ? "badge state-off" : "badge";
      document.querySelector("[data-testid=workflow-version]").textContent = version ? "published version " + version : "never published";
      var back = document.querySelector("[data-wf-action=draft]");
      if (back) {
        back.hidden = status !== "published";
      }
    }
    function publish() {
      var ready = dirty ? save() : Promise.resolve(true);
      return ready.then(function (ok) {
        if (!ok) {
          return;
        }
        return request("POST", "/publish").then(function (r) {
          if (r.ans.report) {
            applyReport(r.ans.report);
          }
          say(r.ans.message, !r.ok);
          if (r.ans.status) {
            setStatus(r.ans.status, r.ans.version);
          }
        });
      });
    }
    function backToDraft() {
      return request("POST", "/draft").then(function (r) {
        say(r.ans.message, !r.ok);
        if (r.ok) {
          setStatus(r.ans.status, r.ans.version);
        }
      });
    }

    function deleteSelected() {
      if (editor.node_selected) {
        editor.removeNodeId(editor.node_selected.id);
        editor.node_selected = null;
      } else if (editor.connection_selected) {
        editor.removeConnection();
      }
    }

    document.addEventListener("click", function (ev) {
      var t = ev.target instanceof Element ? ev.target : null;
      var action = t && t.closest("[data-wf-action]");
      if (action && canManage) {
        switch (action.getAttribute("data-wf-action")) {
          case "save": save(); break;
          case "undo": undo(); break;
          case "delete": deleteSelected(); break;
          case "publish": publish(); break;
          case "draft": backToDraft(); break;
        }
        return;
      }
      var add = t && t.closest("[data-wf-add]");
      if (add && canManage) {
        // The keyboard's way to place a node: near the canvas's top left.
        var n = Object.keys(editor.drawflow.drawflow.Home.data).length;
        var r = container.getBoundingClientRect();
        var p = canvasPoint(r.x + 40 + (n % 6) * 40, r.y + 40 + (n % 6) * 60);
        addNode(add.getAttribute("data-wf-add"), p.x, p.y);
        container.focus();
      }
    });

    document.addEventListener("keydown", function (ev) {
      if (!canManage || (ev.target instanceof Element && ev.target.closest("input, textarea, select, [contenteditable]"))) {
        return;
      }
      if ((ev.ctrlKey || ev.metaKey) && !ev.shiftKey && ev.key.toLowerCase() === "z") {
        ev.preventDefault();
        undo();
      } else if (ev.key === "Delete" || (ev.key === "Backspace" && container.contains(ev.target))) {
        ev.preventDefault();
        deleteSelected();
      }
    });

    // Dragging a node type from the palette onto the canvas places it there.
    var drag = null;
    document.addEventListener("pointerdown", function (ev) {
      var item = ev.target instanceof Element ? ev.target.closest(".wf-kind") : null;
      if (!item || !canManage || ev.button !== 0 || ev.target.closest("button")) {
        return;
      }
      ev.preventDefault();
      var ghost = document.createElement("div");
      ghost.className = "wf-ghost";
      ghost.textContent = item.querySelector(".wf-kind-title").textContent;
      document.body.appendChild(ghost);
      drag = { type: item.getAttribute("data-type"), ghost: ghost };
      moveGhost(ev);
    });
    function moveGhost(ev) {
      drag.ghost.style.left = ev.clientX + 8 + "px";
      drag.ghost.style.top = ev.clientY + 8 + "px";
    }
    document.addEventListener("pointermove", function (ev) {
      if (drag) {
        moveGhost(ev);
      }
    });
    document.addEventListener("pointerup", function (ev) {
      if (!drag) {
        return;
      }
      var d = drag;
      drag = null;
      d.ghost.remove();
      var r = container.getBoundingClientRect();
      if (ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom) {
        var p = canvasPoint(ev.clientX, ev.clientY);
        addNode(d.type, p.x, p.y);
      }
    });

    window.addEventListener("beforeunload", function (ev) {
      if (dirty) {
        ev.preventDefault();
      }
    });

    state.definition.nodes.forEach(function (n) {
      known[n.id] = true;
      outputsOf[n.id] = state.outputs[n.id] || kindOf(n.type).outputs;
    });
    load(state.definition);
    current = snapshot();
    // For tests and the curious: the canvas's definition as it would be saved.
    window.waddleBuilder = { definition: toDefinition, isDirty: function () { return dirty; } };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
