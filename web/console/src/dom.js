// Small DOM helpers: element creation without innerHTML (all registry data is text, never markup).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export function $(selector) {
  return document.querySelector(selector);
}

let toastTimer = 0;
export function toast(message) {
  const node = $("#toast");
  node.textContent = message;
  node.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove("show"), 4000);
}

export function ago(seconds) {
  if (seconds == null) return "never";
  if (seconds < 1) return "now";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

// Asks the operator to confirm an action; resolves to the reason typed, or null when cancelled.
export function confirmAction(text, { askReason = false } = {}) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-reason-label").hidden = !askReason;
  $("#confirm-reason").value = "";
  return new Promise((resolve) => {
    const done = (value) => {
      $("#confirm-ok").onclick = null;
      $("#confirm-cancel").onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    $("#confirm-ok").onclick = () => done($("#confirm-reason").value);
    $("#confirm-cancel").onclick = () => done(null);
    dialog.onclose = () => done(null);
    dialog.showModal();
  });
}
