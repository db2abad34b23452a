// The fleet view: counts by status per service, the liveness summary, and one service's instances
// with their heartbeat metrics. Fed by /api/fleet (a catalog watch pushed as SSE); the page keeps
// the whole catalog in a Map and re-renders only the rows a change touched, once per frame.

import { get, post, stream } from "./api.js";
import { drawLatency } from "./chart.js";
import { $, ago, confirmAction, el, toast } from "./dom.js";

export const STATUSES = ["unknown", "healthy", "degraded", "critical", "dead", "draining"];
const MAX_ROWS = 500; // instance rows rendered for one service
const SAMPLES = 120; // latency samples kept per instance
const HEALTH_EVERY_MS = 1500;

const state = {
  instances: new Map(), // "service/id" -> instance
  services: new Map(), // name -> { counts, ids: Set }
  revision: 0,
  summary: null,
  selected: null,
  picked: null, // instance id whose latency the chart shows
  dirtyServices: new Set(),
  dirtyInstances: new Set(),
  reshapeSelected: false,
  frame: 0,
  session: null,
  health: new Map(), // id -> last health row of the selected service
  samples: new Map(), // id -> [{t, value}]
  serviceSamples: [],
  visible: false,
};

// Measurements the browser test reads (update latency from a status change to its row, frame gaps).
const stats = (window.__consoleStats = { updateLatencyMs: [], frameGapsMs: [], changes: 0, renders: 0 });
const pendingLatency = [];

export function fleetState() {
  return state;
}

function service(name) {
  let entry = state.services.get(name);
  if (!entry) {
    entry = { counts: Object.fromEntries(STATUSES.map((s) => [s, 0])), ids: new Set() };
    state.services.set(name, entry);
  }
  return entry;
}

function put(instance) {
  const key = `${instance.service}/${instance.id}`;
  const entry = service(instance.service);
  const previous = state.instances.get(key);
  if (previous) entry.counts[previous.status]--;
  else {
    entry.ids.add(instance.id);
    if (instance.service === state.selected) state.reshapeSelected = true;
  }
  entry.counts[instance.status]++;
  state.instances.set(key, instance);
  touch(instance.service, key);
}

function remove(instance) {
  const key = `${instance.service}/${instance.id}`;
  const previous = state.instances.get(key);
  if (!previous) return;
  const entry = service(instance.service);
  entry.counts[previous.status]--;
  entry.ids.delete(instance.id);
  state.instances.delete(key);
  if (instance.service === state.selected) state.reshapeSelected = true;
  touch(instance.service, key);
}

function touch(name, key) {
  state.dirtyServices.add(name);
  state.dirtyInstances.add(key);
  if (!state.frame) state.frame = requestAnimationFrame(render);
}

const handlers = {
  snapshot(data) {
    state.instances.clear();
    state.services.clear();
    $("#services tbody").replaceChildren();
    state.reshapeSelected = true;
    for (const instance of data.instances) put(instance);
    state.revision = data.revision;
    live(true);
  },
  changes(data) {
    for (const change of data.changes) {
      if (change.type === "removed") remove(change.instance);
      else put(change.instance);
      if (change.type === "status_changed") pendingLatency.push(change.instance.statusTime);
    }
    stats.changes += data.changes.length;
    state.revision = data.revision;
    live(true);
  },
  summary(data) {
    state.summary = data;
    renderSummary();
  },
  cut(data) {
    toast(`fleet feed cut (${data.message}); resuming`);
  },
};

function live(on) {
  const node = $("#link-state");
  node.hidden = false;
  node.textContent = on ? "live" : "reconnecting…";
  node.className = `link ${on ? "live" : "down"}`;
}

export async function runFleetFeed(session, isActive) {
  state.session = session;
  let backoff = 250;
  while (isActive()) {
    try {
      await stream(`/api/fleet?after=${state.revision}`, handlers, undefined);
      backoff = 250;
    } catch (error) {
      if (error.status === 401) return;
      if (error.status === 403) {
        $("#summary").replaceChildren(el("p", { class: "error", text: error.message }));
        return;
      }
    }
    live(false);
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(backoff * 2, 5000);
  }
}

// ------------------------------------------------------------------- rendering

function render() {
  state.frame = 0;
  const started = performance.now();
  for (const name of state.dirtyServices) renderServiceRow(name);
  if (state.selected && (state.reshapeSelected || state.dirtyServices.has(state.selected))) {
    if (state.reshapeSelected) renderInstances();
    else for (const key of state.dirtyInstances) updateInstanceRow(key);
  }
  state.reshapeSelected = false;
  state.dirtyServices.clear();
  state.dirtyInstances.clear();
  renderSummary();
  const now = Date.now() / 1000;
  for (const changedAt of pendingLatency.splice(0)) {
    const latency = (now - changedAt) * 1000; // the registry's clock and this page's are one machine's
    if (stats.updateLatencyMs.length < 100000) stats.updateLatencyMs.push(latency);
  }
  stats.renders++;
  stats.lastRenderMs = performance.now() - started;
}

function renderSummary() {
  const totals = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const entry of state.services.values()) for (const s of STATUSES) totals[s] += entry.counts[s];
  const summary = state.summary || {};
  const badge = (id, label, value, on = false) =>
    el("span", { class: `badge${on ? " on" : ""}`, id, "data-value": String(value) }, `${label} `, el("b", { text: String(value) }));
  $("#summary").replaceChildren(
    badge("sum-instances", "instances", state.instances.size),
    ...STATUSES.map((s) => badge(`sum-${s}`, s, totals[s])),
    badge("sum-streams", "open heartbeat streams", summary.openStreams ?? "…"),
    badge("sum-preservation", "self-preservation", summary.selfPreservation ? "ACTIVE" : "off", summary.selfPreservation),
    badge("sum-grace", "startup grace", summary.startupGrace ? "ACTIVE" : "over", summary.startupGrace),
    badge("sum-revision", "revision", state.revision),
  );
}

function renderServiceRow(name) {
  const body = $("#services tbody");
  const entry = state.services.get(name);
  let row = body.querySelector(`tr[data-service="${CSS.escape(name)}"]`);
  if (!entry || entry.ids.size === 0) {
    if (row) row.remove();
    state.services.delete(name);
    return;
  }
  if (!row) {
    row = el("tr", { "data-service": name, onclick: () => select(name) });
    row.append(el("td", { text: name }), el("td", { class: "total" }), ...STATUSES.map((s) => el("td", { "data-status": s })));
    const after = [...body.children].find((r) => r.dataset.service > name);
    body.insertBefore(row, after || null);
  }
  row.classList.toggle("selected", name === state.selected);
  row.querySelector(".total").textContent = entry.ids.size;
  for (const s of STATUSES) {
    const cell = row.querySelector(`td[data-status="${s}"]`);
    cell.textContent = entry.counts[s];
    cell.className = entry.counts[s] ? `s-${s}` : "zero";
  }
}

export function select(name) {
  state.selected = name;
  state.picked = null;
  state.health.clear();
  state.samples.clear();
  state.serviceSamples = [];
  for (const row of document.querySelectorAll("#services tbody tr")) row.classList.toggle("selected", row.dataset.service === name);
  $("#service-detail").hidden = false;
  $("#detail-title").textContent = name;
  renderInstances();
  refreshHealth();
}

function canAct(serviceName) {
  const session = state.session;
  return session && (session.admin || session.service === serviceName);
}

function renderInstances() {
  const name = state.selected;
  const entry = state.services.get(name);
  const ids = entry ? [...entry.ids].sort() : [];
  const body = $("#instances tbody");
  body.replaceChildren(...ids.slice(0, MAX_ROWS).map((id) => instanceRow(state.instances.get(`${name}/${id}`))));
  $("#detail-note").textContent =
    ids.length > MAX_ROWS ? `showing the first ${MAX_ROWS} of ${ids.length} instances` : `${ids.length} instances`;
  drawChart();
}

function instanceRow(instance) {
  const allowed = canAct(instance.service);
  const action = (label, verb) =>
    el("button", {
      type: "button",
      text: label,
      "data-action": verb,
      title: allowed ? `${label} ${instance.id}` : "needs admin or this service's own token",
      ...(allowed ? {} : { disabled: "" }),
      onclick: (event) => {
        event.stopPropagation();
        act(verb, instance);
      },
    });
  const row = el(
    "tr",
    { "data-instance": instance.id, onclick: () => pick(instance.id) },
    el("td", { text: instance.id }),
    el("td", { class: "status-cell" }),
    el("td", { class: "kv", text: instance.endpoints.map((e) => `${e.name ? e.name + " " : ""}${e.protocol}://${e.host}:${e.port}`).join("\n") }),
    el("td", { text: instance.version }),
    el("td", { text: instance.zone }),
    el("td", { class: "kv", text: instance.tags.join(", ") }),
    el("td", { class: "kv", text: Object.entries(instance.metadata).map(([k, v]) => `${k}=${v}`).join("\n") }),
    el("td", { "data-metric": "beats" }),
    el("td", { "data-metric": "missed" }),
    el("td", { "data-metric": "failures" }),
    el("td", { "data-metric": "latency" }),
    el("td", { "data-metric": "uptime" }),
    el("td", { "data-metric": "last" }),
    el("td", {}, action("Drain", "drain"), action("Deregister", "deregister")),
  );
  fillStatus(row, instance);
  fillMetrics(row, state.health.get(instance.id));
  row.classList.toggle("picked", instance.id === state.picked);
  return row;
}

function fillStatus(row, instance) {
  const badge = el("span", { class: `status ${instance.status}`, text: instance.status });
  row.querySelector(".status-cell").replaceChildren(badge);
}

function fillMetrics(row, h) {
  const set = (metric, text) => (row.querySelector(`td[data-metric="${metric}"]`).textContent = text);
  if (!h) return;
  set("beats", h.beats);
  set("missed", h.missed);
  set("failures", h.failures);
  set("latency", h.beats ? `${h.latencyAvg.toFixed(2)} / ${h.latencyMin.toFixed(2)} / ${h.latencyMax.toFixed(2)}` : "–");
  set("uptime", `${h.uptimePct.toFixed(1)} %`);
  set("last", `${ago(h.lastBeat == null ? null : h.sinceLast)}${h.connected ? "" : " (no stream)"}`);
}

function updateInstanceRow(key) {
  const instance = state.instances.get(key);
  if (!instance || instance.service !== state.selected) return;
  const row = $("#instances tbody").querySelector(`tr[data-instance="${CSS.escape(instance.id)}"]`);
  if (row) fillStatus(row, instance);
}

function pick(id) {
  state.picked = state.picked === id ? null : id;
  for (const row of $("#instances tbody").children) row.classList.toggle("picked", row.dataset.instance === state.picked);
  drawChart();
}

async function act(verb, instance) {
  const what =
    verb === "drain"
      ? `Drain ${instance.service}/${instance.id}? It leaves discovery now, and its heartbeat stream is told to drain.`
      : `Deregister ${instance.service}/${instance.id}? It is removed from the registry; a live instance will register again.`;
  const reason = await confirmAction(what, { askReason: verb === "drain" });
  if (reason === null) return;
  const path = `/api/services/${encodeURIComponent(instance.service)}/instances/${encodeURIComponent(instance.id)}/${verb}`;
  try {
    const result = await post(path, verb === "drain" ? { reason } : {});
    toast(verb === "drain" ? `drained ${instance.id}${result.directiveSent ? "; its stream was told" : " (no open stream)"}` : `deregistered ${instance.id}`);
  } catch (error) {
    toast(`${verb} failed: ${error.message}`);
  }
}

// ------------------------------------------------------------------- heartbeat metrics

export function setFleetVisible(visible) {
  state.visible = visible;
}

async function refreshHealth() {
  const name = state.selected;
  if (!name || !state.visible) return;
  let answer;
  try {
    answer = await get(`/api/services/${encodeURIComponent(name)}/health`);
  } catch {
    return;
  }
  if (name !== state.selected) return;
  const now = Date.now() / 1000;
  const recent = [];
  for (const h of answer.instances) {
    const before = state.health.get(h.id);
    state.health.set(h.id, h);
    if (before && h.beats > before.beats) {
      const value = (h.latencyAvg * h.beats - before.latencyAvg * before.beats) / (h.beats - before.beats);
      const series = state.samples.get(h.id) || [];
      series.push({ t: now, value });
      if (series.length > SAMPLES) series.shift();
      state.samples.set(h.id, series);
      recent.push(value);
    }
  }
  if (recent.length) {
    state.serviceSamples.push({ t: now, value: recent.reduce((a, b) => a + b, 0) / recent.length });
    if (state.serviceSamples.length > SAMPLES) state.serviceSamples.shift();
  }
  for (const row of $("#instances tbody").children) fillMetrics(row, state.health.get(row.dataset.instance));
  drawChart();
}

setInterval(refreshHealth, HEALTH_EVERY_MS);

function drawChart() {
  const caption = $("#chart-caption");
  caption.dataset.subject = state.picked ? `beat latency of ${state.picked}` : `mean beat latency of ${state.selected}`;
  const series = state.picked ? state.samples.get(state.picked) || [] : state.serviceSamples;
  drawLatency($("#latency-chart"), series, caption);
}

// Frame gaps while the page is open: how smooth it stays under load (read by the browser test).
let lastFrame = performance.now();
function frameWatch(now) {
  const gap = now - lastFrame;
  lastFrame = now;
  if (stats.frameGapsMs.length < 100000) stats.frameGapsMs.push(gap);
  requestAnimationFrame(frameWatch);
}
requestAnimationFrame(frameWatch);
