/* Lineage graph views (cytoscape.js + dagre, layered left to right), one per [data-lineage] element.
 *
 * Data comes from GET /api/v1/lineage/graph (include=runs adds the last run state of jobs and the
 * cycle flag). Datasets and jobs are nodes; an API edge source -> target through job is drawn as
 * source -> job -> target. Clicking a dataset loads its neighbours (depth 1 each way) into the graph.
 * A node with more than GROUP_THRESHOLD neighbours on one side that link to nothing else shows them
 * as one group node (click it to list them), so graphs of thousands of datasets stay responsive.
 */
(function () {
  "use strict";

  var GROUP_THRESHOLD = 25;
  var STATE_COLOURS = { COMPLETE: "#198754", FAIL: "#dc3545", ABORT: "#6c757d", START: "#0d6efd", RUNNING: "#0d6efd", OTHER: "#adb5bd" };

  if (window.cytoscape && window.cytoscapeDagre) {
    try { window.cytoscape.use(window.cytoscapeDagre); } catch (e) { /* already registered */ }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function shorten(text, max) {
    return text.length > max ? "…" + text.slice(text.length - max + 1) : text;
  }

  function identityParams(node) {
    if (node.qualified_name) { return { dataset: node.qualified_name }; }
    return { node: node.namespace + "/" + node.name };
  }

  function LineageView(root) {
    this.root = root;
    this.api = root.getAttribute("data-api");
    this.start = root.hasAttribute("data-dataset") ? { dataset: root.getAttribute("data-dataset") } : { node: root.getAttribute("data-node") };
    this.canvas = root.querySelector("[data-lineage-canvas]");
    this.panel = root.querySelector("[data-lineage-panel]");
    this.status = root.querySelector("[data-lineage-status]");
    this.controls = {
      direction: root.querySelector("[data-lineage-direction]"),
      depth: root.querySelector("[data-lineage-depth]"),
      column: root.querySelector("[data-lineage-column]")
    };
    this.reset();
    this.cy = window.cytoscape({
      container: this.canvas,
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 3,
      style: [
        { selector: "node", style: { "label": "data(label)", "font-size": 11, "text-wrap": "wrap", "text-max-width": 170, "text-valign": "center", "text-halign": "center" } },
        { selector: "node.dataset", style: { "shape": "round-rectangle", "width": 180, "height": 38, "background-color": "#e7f1ff", "border-width": 1, "border-color": "#0d6efd" } },
        { selector: "node.center", style: { "border-width": 3, "background-color": "#cfe2ff" } },
        { selector: "node.hidden", style: { "background-color": "#dee2e6", "border-color": "#adb5bd", "color": "#6c757d" } },
        { selector: "node.deprecated", style: { "border-style": "dashed", "border-color": "#b02a37" } },
        { selector: "node.job", style: { "shape": "round-diamond", "width": 26, "height": 26, "background-color": "data(colour)", "font-size": 9, "text-valign": "bottom", "text-margin-y": 4, "text-max-width": 140 } },
        { selector: "node.group", style: { "shape": "barrel", "width": 150, "height": 34, "background-color": "#fff3cd", "border-width": 1, "border-color": "#ffc107" } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": "#fd7e14" } },
        { selector: "edge", style: { "curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5, "line-color": "#adb5bd", "target-arrow-color": "#adb5bd", "label": "data(label)", "font-size": 8, "text-rotation": "autorotate", "color": "#495057" } }
      ]
    });
    this.bind();
    root.lineageView = this;
    (window.lineageViews = window.lineageViews || []).push(this);
    this.load(this.start, this.depth(), this.controls.direction.value, true);
  }

  LineageView.prototype.reset = function () {
    this.nodes = {};   // API id -> API node
    this.edges = {};   // "source|target|job" -> API edge
    this.runs = {};    // job id -> {state, at}
    this.pinned = {};  // datasets the user opened: never folded into a group
    this.groups = {};  // group id -> [member ids]
    this.cycle = false;
    this.truncated = false;
  };

  LineageView.prototype.depth = function () {
    var value = parseInt(this.controls.depth.value, 10);
    return isNaN(value) ? 1 : Math.max(0, Math.min(20, value));
  };

  LineageView.prototype.bind = function () {
    var view = this;
    this.cy.on("tap", "node", function (event) { view.tapped(event.target); });
    this.cy.on("tap", function (event) { if (event.target === view.cy) { view.panel.classList.add("d-none"); } });
    var reload = function () { view.reset(); view.load(view.start, view.depth(), view.controls.direction.value, true); };
    this.controls.direction.addEventListener("change", reload);
    this.controls.depth.addEventListener("change", reload);
    this.controls.column.addEventListener("change", reload);
    this.root.querySelector("[data-lineage-fit]").addEventListener("click", function () { view.cy.fit(undefined, 30); });
  };

  LineageView.prototype.load = function (identity, depth, direction, isStart) {
    var view = this;
    var params = new URLSearchParams(identity);
    params.set("depth", String(depth));
    params.set("direction", direction);
    params.set("include", "runs");
    if (this.controls.column.value) { params.set("column", this.controls.column.value); }
    this.root.setAttribute("data-state", "loading");
    this.status.textContent = "Loading…";
    return fetch(this.api + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || ("HTTP " + response.status)); }
          return body;
        });
      })
      .then(function (doc) {
        view.merge(doc, isStart);
        view.render();
      })
      .catch(function (error) {
        view.status.textContent = "Could not load lineage: " + error.message;
        view.root.setAttribute("data-state", "error");
      });
  };

  LineageView.prototype.merge = function (doc, isStart) {
    var view = this;
    doc.nodes.forEach(function (node) { view.nodes[node.id] = node; });
    doc.edges.forEach(function (edge) { view.edges[edge.source + "|" + edge.target + "|" + edge.job] = edge; });
    Object.keys(doc.runs || {}).forEach(function (id) { view.runs[id] = doc.runs[id]; });
    if (isStart && doc.nodes.length) {
      var first = doc.nodes.filter(function (n) { return n.kind === "dataset"; })[0];
      // The start is the node the API was asked about: the one matching the requested identity.
      var wanted = doc.nodes.filter(function (n) {
        return n.kind === "dataset" && (n.qualified_name === view.start.dataset || (n.namespace + "/" + n.name) === view.start.node);
      })[0] || first;
      view.centre = wanted.id;
      view.pinned[wanted.id] = true;
    }
    this.cycle = this.cycle || !!doc.cycle;
    this.truncated = this.truncated || !!doc.truncated;
  };

  LineageView.prototype.foldGroups = function () {
    // Neighbours that link to nothing but one busy node fold into a group per side of that node.
    var view = this, degree = {}, sides = {};
    Object.keys(this.edges).forEach(function (key) {
      var edge = view.edges[key];
      if (edge.source === edge.target) { return; }
      degree[edge.source] = (degree[edge.source] || {}); degree[edge.source][edge.target] = true;
      degree[edge.target] = (degree[edge.target] || {}); degree[edge.target][edge.source] = true;
      (sides[edge.source + ">"] = sides[edge.source + ">"] || {})[edge.target] = true;
      (sides[edge.target + "<"] = sides[edge.target + "<"] || {})[edge.source] = true;
    });
    var folded = {};
    this.groups = {};
    Object.keys(sides).forEach(function (side) {
      var owner = side.slice(0, -1);
      var leaves = Object.keys(sides[side]).filter(function (id) {
        return !view.pinned[id] && Object.keys(degree[id] || {}).length === 1;
      });
      if (leaves.length > GROUP_THRESHOLD) {
        var groupId = "group:" + side;
        view.groups[groupId] = { owner: owner, downstream: side.slice(-1) === ">", members: leaves };
        leaves.forEach(function (id) { folded[id] = groupId; });
      }
    });
    return folded;
  };

  LineageView.prototype.render = function () {
    var view = this, elements = [], flows = [], jobsShown = {}, columnMode = !!this.controls.column.value;
    var folded = this.foldGroups();
    Object.keys(this.nodes).forEach(function (id) {
      var node = view.nodes[id];
      if (node.kind !== "dataset" || folded[id]) { return; }
      var label = node.hidden ? "hidden" : shorten(node.qualified_name || node.name, 60) + (node.deprecated ? "\n(deprecated)" : "");
      var classes = "dataset" + (node.hidden ? " hidden" : "") + (node.deprecated ? " deprecated" : "") + (id === view.centre ? " center" : "");
      elements.push({ group: "nodes", data: { id: id, label: label }, classes: classes });
    });
    Object.keys(this.groups).forEach(function (groupId) {
      var group = view.groups[groupId];
      elements.push({ group: "nodes", data: { id: groupId, label: group.members.length + " datasets" }, classes: "group" });
      elements.push({ group: "edges", data: group.downstream
        ? { id: groupId + ":e", source: group.owner, target: groupId, label: "" }
        : { id: groupId + ":e", source: groupId, target: group.owner, label: "" } });
      flows.push(group.downstream ? [group.owner, null, groupId] : [groupId, null, group.owner]);
    });
    Object.keys(this.edges).forEach(function (key) {
      var edge = view.edges[key];
      if (folded[edge.source] || folded[edge.target] || !view.nodes[edge.source] || !view.nodes[edge.target]) { return; }
      if (!jobsShown[edge.job]) {
        var job = view.nodes[edge.job] || { hidden: true };
        var run = view.runs[edge.job] || {};
        var jobLabel = job.hidden ? "hidden job" : shorten(job.name, 40) + (run.state ? "\n" + run.state : "");
        elements.push({ group: "nodes", data: { id: edge.job, label: jobLabel, colour: STATE_COLOURS[run.state] || "#adb5bd" }, classes: "job" });
        jobsShown[edge.job] = true;
      }
      var columns = edge.columns.map(function (c) { return c.from === c.to ? c.to : c.from + " → " + c.to; });
      flows.push([edge.source, edge.job, edge.target]);
      elements.push({ group: "edges", data: { id: key + ":in", source: edge.source, target: edge.job, label: "" } });
      elements.push({ group: "edges", data: { id: key + ":out", source: edge.job, target: edge.target, label: columnMode ? columns.join(", ") : "" } });
    });
    this.cy.batch(function () {
      view.cy.elements().remove();
      view.cy.add(elements);
    });
    var layout = window.cytoscapeDagre ? { name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 70, animate: false } : { name: "breadthfirst", directed: true };
    this.cy.layout(layout).run();
    this.cy.fit(undefined, 30);
    this.root.querySelector("[data-lineage-cycle]").classList.toggle("d-none", !this.cycle);
    this.root.querySelector("[data-lineage-truncated]").classList.toggle("d-none", !this.truncated);
    var count = function (n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); };
    var groups = Object.keys(this.groups).length;
    this.status.textContent = count(this.cy.nodes(".dataset").length, "dataset") + ", " + count(this.cy.nodes(".job").length, "job") +
      (groups ? ", " + count(groups, "group") : "");
    this.renderText(flows);
    this.root.setAttribute("data-state", "ready");
  };

  LineageView.prototype.tapped = function (target) {
    var id = target.id();
    if (this.groups[id]) { this.showGroup(id); return; }
    var node = this.nodes[id];
    if (!node) { return; }
    this.showDetails(node);
    if (node.kind === "dataset" && !node.hidden) {
      this.pinned[id] = true;
      this.load(identityParams(node), 1, "both", false);
    }
  };

  LineageView.prototype.showDetails = function (node) {
    var panel = this.panel, body = el("div", { "class": "card-body p-2" });
    panel.innerHTML = "";
    if (node.hidden) {
      body.appendChild(el("p", { "class": "mb-0" }, "A " + node.kind + " your role may not see."));
    } else if (node.kind === "job") {
      var run = this.runs[node.id] || {};
      body.appendChild(el("div", { "class": "fw-bold text-break" }, node.name));
      body.appendChild(el("div", { "class": "text-muted text-break" }, node.namespace));
      body.appendChild(el("div", {}, "Last run: " + (run.state || "unknown") + (run.at ? " at " + run.at : "")));
    } else {
      body.appendChild(el("div", { "class": "fw-bold text-break" }, node.qualified_name || node.name));
      body.appendChild(el("div", { "class": "text-muted text-break" }, node.namespace + "/" + node.name));
      var links = el("div", { "class": "d-flex gap-2 mt-1" });
      if (node.qualified_name) {
        links.appendChild(el("a", { href: this.datasetPage(node.qualified_name) }, "Dataset page"));
      }
      var here = new URLSearchParams(identityParams(node));
      links.appendChild(el("a", { href: this.root.getAttribute("data-full-screen") + "?" + here.toString() }, "Centre lineage here"));
      body.appendChild(links);
    }
    panel.appendChild(body);
    panel.classList.remove("d-none");
  };

  LineageView.prototype.datasetPage = function (qualifiedName) {
    return this.root.getAttribute("data-dataset-page").replace("DATASET", encodeURIComponent(qualifiedName));
  };

  // The text alternative beside the canvas: the same datasets and flows the graph draws, as a list
  // and a table, rebuilt after every render. flows: [source id, job id or null, target id].
  LineageView.prototype.renderText = function (flows) {
    var view = this, nodeList = this.root.querySelector("[data-lineage-text-nodes]");
    var edgeRows = this.root.querySelector("[data-lineage-text-edges]");
    if (!nodeList || !edgeRows) { return; }
    var name = function (id) {
      var node = view.nodes[id];
      if (view.groups[id]) { return view.groups[id].members.length + " datasets (grouped)"; }
      if (!node || node.hidden) { return "hidden " + ((node && node.kind) || "node"); }
      return node.qualified_name || node.name;
    };
    nodeList.innerHTML = "";
    this.cy.nodes(".dataset, .group").forEach(function (drawn) {
      var id = drawn.id(), node = view.nodes[id], item = el("li");
      if (node && !node.hidden && node.qualified_name) {
        item.appendChild(el("a", { href: view.datasetPage(node.qualified_name) }, node.qualified_name));
      } else {
        item.textContent = name(id);
      }
      if (id === view.centre) { item.appendChild(document.createTextNode(" (this dataset)")); }
      nodeList.appendChild(item);
    });
    edgeRows.innerHTML = "";
    flows.forEach(function (flow) {
      var row = el("tr");
      row.appendChild(el("td", {}, name(flow[0])));
      row.appendChild(el("td", {}, flow[1] ? name(flow[1]) : "—"));
      row.appendChild(el("td", {}, name(flow[2])));
      edgeRows.appendChild(row);
    });
  };

  LineageView.prototype.showGroup = function (groupId) {
    var view = this, group = this.groups[groupId], panel = this.panel;
    var body = el("div", { "class": "card-body p-2" });
    body.appendChild(el("div", { "class": "fw-bold mb-1" }, group.members.length + (group.downstream ? " downstream" : " upstream") + " datasets"));
    var list = el("ul", { "class": "list-unstyled mb-0" });
    group.members.forEach(function (id) {
      var node = view.nodes[id], item = el("li");
      var button = el("button", { type: "button", "class": "btn btn-link btn-sm p-0 text-start text-break" }, node.hidden ? "hidden" : (node.qualified_name || node.name));
      button.addEventListener("click", function () { view.pinned[id] = true; view.render(); });
      item.appendChild(button);
      list.appendChild(item);
    });
    body.appendChild(list);
    panel.innerHTML = "";
    panel.appendChild(body);
    panel.classList.remove("d-none");
  };

  function initVisible() {
    document.querySelectorAll("[data-lineage]").forEach(function (root) {
      // A graph in a hidden tab has no size yet: start it when its tab is first shown.
      if (!root.lineageView && root.offsetParent !== null) { new LineageView(root); }
    });
  }

  document.addEventListener("shown.bs.tab", initVisible);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initVisible);
  } else {
    initVisible();
  }
})();
