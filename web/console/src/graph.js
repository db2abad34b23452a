// The graph view: services and their dependencies, drawn with Cytoscape.js.
//
// Edges are styled by kind (hard solid, soft dashed, optional dotted; calls the relay observed in
// blue with their counts and p99, undeclared ones dashed) and by health (red when the dependency
// has no serving instance). The registry's analysis highlights cycles and the critical path. Clicking a
// service highlights its blast radius: every service that depends on it, transitively.

import cytoscape from "cytoscape";
import { get } from "./api.js";
import { $, el } from "./dom.js";

const REFRESH_MS = 3000;
let cy = null;
let shape = "";
let timer = 0;

const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "text-valign": "center",
      "text-wrap": "wrap",
      "font-size": 11,
      width: 110,
      height: 44,
      shape: "round-rectangle",
      "background-color": "#2e9d5b",
      color: "#fff",
      "border-width": 0,
    },
  },
  { selector: "node.partial", style: { "background-color": "#d69a1d" } },
  { selector: "node.down", style: { "background-color": "#d64545" } },
  { selector: "node.absent", style: { "background-color": "#8a8f98" } },
  {
    selector: "edge",
    style: {
      width: 2,
      "curve-style": "bezier",
      "target-arrow-shape": "triangle",
      "line-color": "#6b6f76",
      "target-arrow-color": "#6b6f76",
      label: "data(label)",
      "font-size": 9,
      "text-background-color": "#fff",
      "text-background-opacity": 0.8,
    },
  },
  { selector: "edge.hard", style: { width: 3 } },
  { selector: "edge.soft", style: { "line-style": "dashed" } },
  { selector: "edge.optional", style: { "line-style": "dotted" } },
  { selector: "edge.observed", style: { "line-color": "#3d7bd6", "target-arrow-color": "#3d7bd6" } },
  { selector: "edge.undeclared", style: { "line-style": "dashed", "line-dash-pattern": [2, 4] } },
  { selector: "edge.unhealthy", style: { "line-color": "#d64545", "target-arrow-color": "#d64545" } },
  { selector: "node.cycle", style: { "border-width": 4, "border-color": "#8e44ad" } },
  { selector: "edge.cycle", style: { "line-color": "#8e44ad", "target-arrow-color": "#8e44ad" } },
  { selector: "node.critical", style: { "border-width": 4, "border-color": "#111" } },
  { selector: "edge.critical", style: { width: 5 } },
  { selector: ".faded", style: { opacity: 0.15 } },
  { selector: "node.origin", style: { "border-width": 4, "border-color": "#1d1f21" } },
  { selector: "node.radius", style: { "border-width": 3, "border-color": "#d64545" } },
  { selector: "edge.radius", style: { "line-color": "#d64545", "target-arrow-color": "#d64545" } },
];

function nodeClass(node) {
  if (!node.instances) return "absent";
  if (!node.serving) return "down";
  return node.serving < node.instances ? "partial" : "up";
}

function elements(graph) {
  const serving = new Map(graph.nodes.map((n) => [n.id, n.serving]));
  const nodes = graph.nodes.map((n) => ({
    data: { id: n.id, label: `${n.id}\n${n.serving}/${n.instances} serving` },
    classes: nodeClass(n),
  }));
  const edges = graph.edges.map((e) => {
    const kinds = [e.kind, e.declared ? "declared" : "", e.observed ? "observed" : "", serving.get(e.target) ? "" : "unhealthy"];
    const o = e.observed;
    const label = o ? `${o.count} ${o.kinds.join("/")}${o.errors ? `, ${o.errors} errors` : ""} · p99 ${o.p99ms} ms` : "";
    return {
      data: { id: `${e.source}->${e.target}`, source: e.source, target: e.target, label },
      classes: kinds.filter(Boolean).join(" "),
    };
  });
  return [...nodes, ...edges];
}

function highlightAnalysis(analysis) {
  $("#graph-note").textContent = "";
  if (!analysis) return;
  for (const cycle of analysis.cycles || []) {
    for (let i = 0; i < cycle.length; i++) {
      cy.$id(cycle[i]).addClass("cycle");
      cy.$id(`${cycle[i]}->${cycle[(i + 1) % cycle.length]}`).addClass("cycle");
    }
  }
  const path = analysis.criticalPath || [];
  path.forEach((name, i) => {
    cy.$id(name).addClass("critical");
    if (i + 1 < path.length) cy.$id(`${name}->${path[i + 1]}`).addClass("critical");
  });
  const notes = [];
  if ((analysis.cycles || []).length) notes.push(`${analysis.cycles.length} cycle(s)`);
  if (path.length) notes.push(`critical path: ${path.join(" → ")}`);
  const pairs = (list) => list.map(([a, b]) => `${a} → ${b}`).join(", ");
  if ((analysis.undeclared || []).length) notes.push(`called but undeclared: ${pairs(analysis.undeclared)}`);
  if ((analysis.unserved || []).length) notes.push(`hard dependency without a serving instance: ${pairs(analysis.unserved)}`);
  $("#graph-note").textContent = notes.join(" · ");
}

function blastRadius(node) {
  cy.elements().removeClass("faded radius origin");
  const dependants = node.predecessors(); // edges point from a service to what it depends on
  cy.elements().not(dependants).not(node).addClass("faded");
  dependants.addClass("radius");
  node.addClass("origin");
  $("#graph-radius").textContent = `blast radius of ${node.id()}: ${dependants.nodes().map((n) => n.id()).join(", ") || "nobody depends on it"}`;
}

async function refresh() {
  let graph;
  try {
    graph = await get("/api/graph");
  } catch (error) {
    $("#graph-note").textContent = error.message;
    return;
  }
  const items = elements(graph);
  const newShape = JSON.stringify(items.map((i) => i.data.id).sort());
  if (!cy) {
    cy = cytoscape({ container: $("#graph"), style: STYLE, wheelSensitivity: 0.3 });
    cy.on("tap", "node", (event) => blastRadius(event.target));
    cy.on("tap", (event) => {
      if (event.target === cy) {
        cy.elements().removeClass("faded radius origin");
        $("#graph-radius").textContent = "";
      }
    });
    window.__consoleGraph = cy; // read by the browser test
  }
  if (newShape !== shape) {
    shape = newShape;
    cy.elements().remove();
    cy.add(items);
    cy.layout({ name: "cose", animate: false, randomize: false, nodeRepulsion: () => 400000, idealEdgeLength: () => 140, padding: 30 }).run();
  } else {
    for (const item of items) {
      const existing = cy.$id(item.data.id);
      existing.data(item.data);
      existing.classes(item.classes);
    }
  }
  highlightAnalysis(graph.analysis);
  $("#graph").dataset.edges = graph.edges.map((e) => `${e.source}->${e.target}`).join(" ");
}

function legend() {
  const item = (text, kind) => el("span", { class: `legend-item ${kind}` }, el("b", { text: "— " }), text);
  return [item("hard (thick)", "lg-hard"), item("soft (dashed)", "lg-soft"), item("optional (dotted)", "lg-optional"),
    item("observed calls (dashed: undeclared)", "lg-observed"), item("no serving instance", "lg-unhealthy"), item("cycle", "lg-cycle")];
}

export function showGraph(visible) {
  clearInterval(timer);
  if (!visible) return;
  $("#graph-legend").replaceChildren(...legend());
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}
