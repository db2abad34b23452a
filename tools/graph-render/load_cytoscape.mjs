// Loads `registry graph --format cytoscape` (stdin) into cytoscape.js, headless, and prints what
// the library made of it: counts, the edges flagged on a cycle, and who web reaches. Exits non-zero
// when cytoscape refuses the elements (a missing node, a duplicate id, ...).
import { readFileSync } from "node:fs";
import cytoscape from "cytoscape";

const { elements } = JSON.parse(readFileSync(0, "utf8"));
const cy = cytoscape({ headless: true, elements });
const ids = (collection) => collection.map((e) => e.id()).sort();
console.log(
  JSON.stringify({
    nodes: cy.nodes().length,
    edges: cy.edges().length,
    cycle_edges: ids(cy.edges("[?on_cycle]")),
    successors_of_web: ids(cy.$id("web").successors().nodes()),
  }),
);
