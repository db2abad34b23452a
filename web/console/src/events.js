// The events view: a live tail of relayed events, filtered by topic patterns and tenant, each with
// its trace id linked through the operator's trace URL template (--console-trace-url).

import { stream } from "./api.js";
import { $, el } from "./dom.js";

const MAX_ROWS = 500;
let controller = null;
let traceUrl = "";

function traceCell(traceId) {
  if (!traceId) return el("td", { text: "–" });
  if (!traceUrl) return el("td", { class: "kv", "data-trace": traceId, text: traceId });
  const href = traceUrl.replace("{trace_id}", encodeURIComponent(traceId));
  return el("td", { class: "kv", "data-trace": traceId }, el("a", { href, target: "_blank", rel: "noopener noreferrer", text: traceId }));
}

function row(event) {
  const time = new Date(event.time * 1000).toISOString().replace("T", " ").slice(0, 23);
  return el(
    "tr",
    { "data-sequence": String(event.sequence), "data-topic": event.name },
    el("td", { text: time }),
    el("td", { text: String(event.sequence) }),
    el("td", { text: event.name }),
    el("td", { text: `${event.source || "?"} → ${event.target || "*"}` }),
    el("td", { text: event.tenant }),
    traceCell(event.traceId),
    el("td", { class: "preview", text: event.preview ?? `${event.size} bytes ${event.contentType}`, title: event.preview ?? "" }),
  );
}

function setState(text) {
  $("#event-state").textContent = text;
}

async function tail() {
  controller?.abort();
  const mine = (controller = new AbortController());
  const body = $("#events tbody");
  body.replaceChildren();
  const query = new URLSearchParams();
  for (const topic of $("#event-topics").value.split(",").map((t) => t.trim()).filter(Boolean)) query.append("topic", topic);
  const tenant = $("#event-tenant").value.trim();
  if (tenant) query.set("tenant", tenant);
  let backoff = 250;
  while (mine === controller) {
    setState("live");
    try {
      await stream(
        `/api/events?${query}`,
        {
          event(data) {
            body.prepend(row(data));
            while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
          },
          cut(data) {
            setState(`cut: ${data.message}`);
          },
        },
        mine.signal,
      );
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error.status) {
        setState(error.message);
        return; // a bad filter or a missing scope: retrying will not help
      }
    }
    setState("reconnecting…");
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(backoff * 2, 5000);
  }
}

export function showEvents(visible, session) {
  traceUrl = session.traceUrl || "";
  if (!visible) {
    controller?.abort();
    controller = null;
    return;
  }
  if (!controller) tail();
}

export function setupEvents() {
  $("#event-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    tail();
  });
}
