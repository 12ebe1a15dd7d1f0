// Switchboard's web UI: sign-in and the Apps menu. Plain DOM code, no
// framework. Every value from the server is inserted with textContent, never
// as HTML (connector names and tool descriptions are untrusted). The token
// lives in sessionStorage and only ever travels in the Authorization header.
"use strict";

const TOKEN_KEY = "switchboard.token";
const $ = (id) => document.getElementById(id);
/** Glyphs for the icon names system tools declare. */
const ICONS = { mail: "✉", chart: "◔", download: "⤓", calendar: "▦" };
const icon = (name) => ICONS[name] || (name || "•").slice(0, 1).toUpperCase();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}

function say(message) {
  $("status").textContent = message || "";
}

/** The API with the stored token; a 401 sends the user back to sign-in. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error("The server cannot be reached. Check your connection and try again.");
  }
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn("Your sign-in expired. Please sign in again.");
    throw new Error("signed out");
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message || `The server answered ${response.status}.`);
  return data;
}

async function showSignIn(message) {
  $("apps").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  say(message);
  const config = await fetch("/ui/config").then((r) => r.json()).catch(() => ({}));
  $("dev-form").hidden = !config.dev_sign_in;
  (config.dev_sign_in ? $("dev-user") : $("token-input")).focus();
}

function signedIn(token, user) {
  sessionStorage.setItem(TOKEN_KEY, token);
  if (user) sessionStorage.setItem(`${TOKEN_KEY}.user`, user);
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  $("who").textContent = sessionStorage.getItem(`${TOKEN_KEY}.user`) || "";
  say("");
  showApps();
}

function systemToolCard(tool) {
  const soon = tool.status === "coming_soon";
  const connected = tool.status === "connected";
  const label = soon ? "Coming soon" : connected ? "Disconnect" : "Connect";
  const button = el("button", {
    type: "button",
    class: connected ? "secondary" : "",
    disabled: soon,
    "aria-label": `${label} ${tool.name}`,
    onclick: async () => {
      button.disabled = true;
      try {
        await api("POST", `/api/tools/${encodeURIComponent(tool.id)}/${connected ? "disconnect" : "connect"}`);
        say(`${tool.name} ${connected ? "disconnected" : "connected"}.`);
        await showApps();
      } catch (e) {
        say(e.message);
        button.disabled = false;
      }
    },
  }, label);
  return el("li", { class: "card", "data-tool": tool.id },
    el("span", { class: "icon", "aria-hidden": "true" }, icon(tool.icon)),
    el("div", {},
      el("div", { class: "name" }, tool.name, el("span", { class: `badge ${tool.status}` }, tool.status.replace("_", " "))),
      el("div", { class: "description" }, tool.description)),
    el("div", { class: "actions" }, button));
}

function connectorCard(connector) {
  const toggle = el("input", {
    type: "checkbox",
    checked: connector.enabled,
    onchange: async () => {
      toggle.disabled = true;
      try {
        await api("POST", `/api/connectors/${connector.id}/toggle`, { enabled: toggle.checked });
        say(`${connector.name} ${toggle.checked ? "enabled" : "disabled"}.`);
        await showApps();
      } catch (e) {
        say(e.message);
        toggle.checked = !toggle.checked;
        toggle.disabled = false;
      }
    },
  });
  return el("li", { class: "card", "data-connector": connector.id },
    el("span", { class: "icon", "aria-hidden": "true" }, "⇄"),
    el("div", {},
      el("div", { class: "name" }, connector.name, el("span", { class: `badge ${connector.status}` }, connector.status.replace("_", " "))),
      el("div", { class: "description" }, `${connector.tool_count} tools · ${connector.server_url}`)),
    el("div", { class: "actions" }, el("label", { class: "switch" }, toggle, `Enabled`)));
}

async function showApps() {
  try {
    const [tools, list] = await Promise.all([api("GET", "/api/tools"), api("GET", "/api/connectors")]);
    $("system-tools").replaceChildren(...tools.map(systemToolCard));
    $("connectors").replaceChildren(...list.connectors.map(connectorCard));
    if (list.connectors.length === 0) $("connectors").append(el("li", { class: "card empty" }, "", "No connectors yet.", ""));
    $("connector-count").textContent = `(${list.connectors.length} of ${list.limit})`;
    $("apps").hidden = false;
  } catch (e) {
    if (e.message !== "signed out") say(e.message);
  }
}

function start() {
  $("dev-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = $("dev-user").value.trim();
    const response = await fetch("/ui/dev-sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user }),
    }).catch(() => null);
    const data = await response?.json().catch(() => null);
    if (!response?.ok) return say(data?.error?.message || "Sign-in failed.");
    signedIn(data.token, data.user);
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signedIn($("token-input").value.trim(), "");
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn("Signed out.");
  });
  // A host app may hand over a token in the URL fragment (#token=…); it is
  // removed from the address bar at once and never sent to the server in a URL.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
    history.replaceState(null, "", location.pathname);
  }
  if (sessionStorage.getItem(TOKEN_KEY)) signedIn(sessionStorage.getItem(TOKEN_KEY), "");
  else showSignIn("");
}

document.addEventListener("DOMContentLoaded", start);
