// The console's only way to reach the registry: fetch with the token in the Authorization header.
//
// The token lives in this tab's memory and sessionStorage (gone when the tab closes, never shared
// with other tabs, never in a cookie, so no other site can make the browser send it). Push streams
// are Server-Sent Events read through fetch() streaming, because EventSource cannot set a header
// and a token in the URL would land in logs and history.

const KEY = "registry-console-token";
let token = sessionStorage.getItem(KEY);
let onSignedOut = () => {};

export function hasToken() {
  return Boolean(token);
}

export function setToken(value) {
  token = value;
  sessionStorage.setItem(KEY, value);
}

export function signOut() {
  token = null;
  sessionStorage.removeItem(KEY);
  onSignedOut();
}

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.reason = error.reason || "";
  }
}

function headers(extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function failure(response, usedStoredToken = true) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status only
  }
  const error = new ApiError(response.status, body);
  if (response.status === 401 && usedStoredToken && token) signOut(); // expired or revoked
  return error;
}

export async function get(path, { tokenOverride } = {}) {
  const h = tokenOverride ? { Authorization: `Bearer ${tokenOverride}` } : headers();
  const response = await fetch(path, { headers: h, cache: "no-store", credentials: "omit" });
  if (!response.ok) throw await failure(response, !tokenOverride);
  return response.json();
}

export async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body || {}),
    credentials: "omit",
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

// Reads an SSE response and calls handlers[event](data) per frame. Resolves when the stream ends;
// rejects on an HTTP error (ApiError) or a network failure. `signal` aborts it.
export async function stream(path, handlers, signal) {
  const response = await fetch(path, { headers: headers(), signal, cache: "no-store", credentials: "omit" });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data && handlers[event]) handlers[event](JSON.parse(data));
    }
  }
}
