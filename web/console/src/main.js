// The console page: sign in with a token, then the fleet, graph and events views (hash routes).

import { get, hasToken, setToken, signOut, whenSignedOut } from "./api.js";
import { $ } from "./dom.js";
import { setupEvents, showEvents } from "./events.js";
import { runFleetFeed, setFleetVisible } from "./fleet.js";
import { showGraph } from "./graph.js";

const VIEWS = ["fleet", "graph", "events"];
let session = null;

function showSignIn(message = "") {
  $("#app").hidden = true;
  $("#tabs").hidden = true;
  $("#sign-out").hidden = true;
  $("#link-state").hidden = true;
  $("#who").textContent = "";
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
  $("#token").focus();
}

function route() {
  if (!session) return;
  const view = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "fleet";
  for (const name of VIEWS) $(`#view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll("#tabs a")) link.classList.toggle("active", link.dataset.view === view);
  setFleetVisible(view === "fleet");
  showGraph(view === "graph");
  showEvents(view === "events", session);
}

function start(found) {
  session = found;
  $("#sign-in").hidden = true;
  $("#app").hidden = false;
  $("#tabs").hidden = false;
  $("#sign-out").hidden = !found.authOn;
  $("#who").textContent = found.authOn ? `signed in as ${found.service}${found.admin ? " (admin)" : ""}` : "auth is off";
  route();
  runFleetFeed(found, () => session === found);
}

async function boot() {
  whenSignedOut(() => {
    session = null;
    location.reload(); // drops every view's state and open stream with the token
  });
  $("#sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("#token").value.trim();
    $("#token").value = "";
    try {
      const found = await get("/api/session", { tokenOverride: value });
      setToken(value);
      start(found);
    } catch (error) {
      showSignIn(error.message);
    }
  });
  $("#sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  setupEvents();
  try {
    // With auth off the registry answers without a token; with auth on a stored token is checked.
    start(await get("/api/session"));
  } catch (error) {
    if (hasToken()) showSignIn(error.message);
    else showSignIn();
  }
}

boot();
