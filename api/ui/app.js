// Switchboard's web UI: sign-in, the Apps menu (with a small chat panel) and
// the connectors manager; framed by an allowed host page, it tells that page
// its height and what changed, and `/?embed=1` shows the Apps menu alone.
// Plain DOM code, no
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

/** Says what is going on (`info`) or what went well (`success`), politely; clears an alarm. */
function say(message, kind = "info") {
  $("alert").textContent = "";
  $("status").textContent = message || "";
  $("status").dataset.kind = kind;
}

/** What went well. */
const done = (message) => say(message, "success");

/** What went wrong, announced at once (`role=alert`); clears the status. */
function alarm(message) {
  $("status").textContent = "";
  $("alert").textContent = message || "";
}

/** Shows a failure, unless it was the sign-out that already said why. */
function fail(error) {
  if (error.message !== "signed out") alarm(error.message);
}

/** A new view starts with no message from the last one. */
function clearMessages() {
  $("status").textContent = "";
  $("alert").textContent = "";
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
  if (!response.ok) {
    const error = new Error(data?.error?.message || `The server answered ${response.status}.`);
    error.details = data?.error?.details;
    error.code = data?.error?.code;
    throw error;
  }
  const changed = method !== "GET" && !path.endsWith("/test") && path.match(/^\/api\/(connectors|tools)\b/);
  if (changed) tellHost({ type: "switchboard-changed", what: changed[1] });
  return data;
}

// ---- A host page framing this one ---------------------------------------------

/** `/?embed=1`: the Apps menu alone, for a host's composer. */
const EMBED = new URLSearchParams(location.search).get("embed") === "1";

/** The framing page's origin when it may frame us (SWITCHBOARD_UI_FRAME_ANCESTORS), else null. */
async function hostOrigin() {
  if (window.parent === window) return null;
  const config = await loadConfig();
  const origin = location.ancestorOrigins?.[0] ?? (document.referrer ? new URL(document.referrer).origin : null);
  return (config.frame_ancestors || []).includes(origin) ? origin : null;
}

/**
 * Tells the host page what it may want to know (and only an allowed host):
 * `switchboard-ready` (send the token now), `switchboard-height` (the page's
 * height in CSS pixels), `switchboard-changed` (`what`: "connectors" or
 * "tools": refresh your tool picker), `switchboard-tool-picked` (`tool`: the
 * catalog name picked in the embedded menu, or null).
 */
async function tellHost(message) {
  const origin = await hostOrigin();
  if (origin) window.parent.postMessage(message, origin);
}

/** Keeps the host told of the page's height. */
function reportHeight() {
  let told = 0;
  const tell = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== told) {
      told = height;
      tellHost({ type: "switchboard-height", height });
    }
  };
  new ResizeObserver(() => requestAnimationFrame(tell)).observe(document.body);
  tell();
}

/** Where the user was when the token expired: they come back there, the open form intact. */
let resumeManager = false;

/** The signed-in user's id, as the server names it (GET /api/me). */
let currentUser = "";

async function showSignIn(message) {
  resumeManager = resumeManager || !$("manager").hidden;
  $("apps").hidden = true;
  $("manager").hidden = true;
  $("adopt").hidden = true;
  $("sign-out").hidden = true;
  currentUser = "";
  $("who").textContent = "";
  $("sign-in").hidden = false;
  say(message);
  const config = await loadConfig();
  $("dev-form").hidden = !config.dev_sign_in;
  (config.dev_sign_in ? $("dev-user") : $("token-input")).focus();
  // A host that framed us hands over a (new) token when told the page is ready for one.
  tellHost({ type: "switchboard-ready" });
}

/** Whom `token` signs in: the user id, or null when the server refuses the token. */
async function whoIs(token) {
  let response;
  try {
    response = await fetch("/api/me", { headers: { Authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new Error("The server cannot be reached. Check your connection and try again.");
  }
  if (!response.ok) return null;
  return (await response.json().catch(() => null))?.user || null;
}

/** Signs in with `token` after asking the server whose it is; the user is shown from then on. */
async function signedIn(token) {
  let user;
  try {
    user = await whoIs(token);
  } catch (e) {
    return showSignIn(e.message);
  }
  if (!user) {
    sessionStorage.removeItem(TOKEN_KEY);
    return showSignIn("That sign-in was refused (the token is expired or not for this server). Please sign in again.");
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  currentUser = user;
  $("sign-in").hidden = true;
  $("adopt").hidden = true;
  $("sign-out").hidden = false;
  $("who").textContent = `Signed in as ${user}`;
  say("");
  if (resumeManager) {
    resumeManager = false;
    showManager();
  } else {
    showApps();
  }
}

let configPromise = null;
const loadConfig = () =>
  (configPromise ??= fetch("/ui/config")
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`config: ${r.status}`))))
    .catch(() => {
      configPromise = null; // asked again next time
      return {};
    }));

/** A host app on an allowed origin may hand over a token: postMessage({type: "switchboard-token", token}). */
window.addEventListener("message", async (event) => {
  const config = await loadConfig();
  if (!(config.token_origins || []).includes(event.origin)) return;
  if (event.data?.type === "switchboard-token" && typeof event.data.token === "string") {
    signedIn(event.data.token);
  }
});

/**
 * A host app may hand over a token in the URL fragment (#token=…): it is
 * removed from the address bar at once and never sent to the server in a URL.
 */
function tokenFromFragment() {
  const linked = new URLSearchParams(location.hash.slice(1)).get("token");
  if (linked) history.replaceState(null, "", location.pathname);
  return linked;
}

/**
 * A link brought a token (#token=…). Anyone can make such a link, so it is
 * never adopted silently: the page names the account it signs in to (and the
 * one signed in now, if any) and asks first.
 */
async function offerToken(token) {
  const current = sessionStorage.getItem(TOKEN_KEY);
  let user, currentName;
  try {
    [user, currentName] = await Promise.all([whoIs(token), current ? whoIs(current) : null]);
  } catch (e) {
    return showSignIn(e.message);
  }
  if (!user) {
    return current ? signedIn(current) : showSignIn("The sign-in link's token was refused (expired or not for this server).");
  }
  if (user === currentName) return signedIn(current);
  $("sign-in").hidden = true;
  $("apps").hidden = true;
  $("manager").hidden = true;
  $("adopt-text").textContent = currentName
    ? `A link wants to sign you in as “${user}”. You are signed in as “${currentName}”.`
    : `A link wants to sign you in as “${user}”.`;
  $("adopt-yes").textContent = `Continue as ${user}`;
  $("adopt-no").textContent = currentName ? `Stay signed in as ${currentName}` : "Cancel";
  $("adopt-yes").onclick = () => signedIn(token);
  $("adopt-no").onclick = () => (current ? signedIn(current) : showSignIn(""));
  $("adopt").hidden = false;
  $("adopt-yes").focus();
}

// ---- OAuth sign-in popups -----------------------------------------------

/**
 * Signs in at a provider in a popup: POST `path` (which answers
 * `{authorization_url}` and sets the HttpOnly cookie binding the flow to this
 * browser), send the popup there, and wait for the callback page's word:
 * postMessage from this origin, or a BroadcastChannel message when the
 * provider's opener policy cut the popup off from us, or the popup closing.
 * Resolves "ok", "error" or "closed"; resolves with the API's body instead
 * when it needed no sign-in.
 */
async function signInPopup(path) {
  // Opened now, inside the click, so that popup blockers let it through.
  const framed = window.parent !== window;
  const flow = framed ? crypto.randomUUID() : null;
  const popup = window.open(framed ? `/?authorize=${flow}` : "about:blank", "switchboard-oauth", "popup,width=520,height=680");
  if (framed) {
    // Inside a host's frame the sign-in cannot run in the frame itself (providers refuse to be framed).
    if (!popup) throw new Error("Allow pop-ups for this site to sign in, then try again.");
    return startInPopup(popup, path, flow);
  }
  let data;
  try {
    data = await api("POST", path);
  } catch (e) {
    popup?.close();
    throw e;
  }
  if (!data?.authorization_url) {
    popup?.close();
    return data;
  }
  if (!popup) {
    // No popup allowed: go there in this tab; the callback page says how it went.
    location.assign(data.authorization_url);
    return "redirected";
  }
  popup.location.assign(data.authorization_url);
  say(`Sign in in the window that opened. What you connect there is for your Switchboard account “${currentUser}”.`);
  return new Promise((resolve) => {
    const channel = "BroadcastChannel" in window ? new BroadcastChannel("switchboard-oauth") : null;
    const done = (status) => {
      window.removeEventListener("message", onMessage);
      channel?.close();
      clearInterval(watch);
      resolve(status);
    };
    const onMessage = (event) => {
      if (event.origin === location.origin && event.data?.type === "switchboard:oauth") done(event.data.status);
    };
    window.addEventListener("message", onMessage);
    if (channel) channel.onmessage = (event) => event.data?.type === "switchboard:oauth" && done(event.data.status);
    const watch = setInterval(() => { if (popup.closed) done("closed"); }, 500);
  });
}

/**
 * In a frame on another site, this page's cookies are not the ones the
 * popup's callback will see (browsers keep a framed site's cookies apart), so
 * the flow must start in the popup: it opens this page (`/?authorize=1`), says
 * it is ready, gets the token and the route from us (same origin only), and
 * starts the sign-in there, where the browser-binding cookie is first-party.
 */
function startInPopup(popup, path, flow) {
  return new Promise((resolve, reject) => {
    const done = (outcome) => {
      window.removeEventListener("message", onMessage);
      clearInterval(watch);
      outcome instanceof Error ? reject(outcome) : resolve(outcome);
    };
    const onMessage = (event) => {
      if (event.origin !== location.origin || event.source !== popup) return;
      const data = event.data || {};
      if (data.type === "switchboard-popup-ready" && data.flow === flow) {
        popup.postMessage({ type: "switchboard-authorize", token: sessionStorage.getItem(TOKEN_KEY), path }, location.origin);
      } else if (data.type === "switchboard-authorize-failed") {
        popup.close();
        done(new Error(data.message));
      } else if (data.type === "switchboard-authorize-unneeded") {
        popup.close();
        done(data.body);
      } else if (data.type === "switchboard-authorize-started") {
        say(`Sign in in the window that opened. What you connect there is for your Switchboard account “${currentUser}”.`);
      } else if (data.type === "switchboard:oauth") {
        done(data.status);
      }
    };
    window.addEventListener("message", onMessage);
    // A provider's opener policy can cut the popup off at once: "unknown", and the caller asks the server.
    const watch = setInterval(() => { if (popup.closed) done("unknown"); }, 500);
  });
}

/** This page as the sign-in popup of a framed page (see `startInPopup`); `flow` names the sign-in. */
function authorizePopup(flow) {
  const opener = window.opener;
  const tell = (message) => opener?.postMessage({ ...message, flow }, location.origin);
  const route = /^\/api\/(connectors\/[0-9a-f-]+\/authorize|tools\/[a-z0-9_-]+\/connect)$/;
  // Nobody answered: this window closes itself.
  const giveUp = setTimeout(() => window.close(), 60_000);
  let started = false;
  window.addEventListener("message", async (event) => {
    if (event.origin !== location.origin || event.source !== opener || started) return;
    if (event.data?.type !== "switchboard-authorize") return;
    started = true;
    clearTimeout(giveUp);
    if (typeof event.data.path !== "string" || !route.test(event.data.path)) {
      return tell({ type: "switchboard-authorize-failed", message: "That sign-in cannot start here." });
    }
    say("Starting the sign-in…");
    const response = await fetch(event.data.path, { method: "POST", headers: { Authorization: `Bearer ${event.data.token}` } }).catch(() => null);
    const body = await response?.json().catch(() => null);
    if (!response?.ok) return tell({ type: "switchboard-authorize-failed", message: body?.error?.message || "The sign-in could not start." });
    if (!body?.authorization_url) return tell({ type: "switchboard-authorize-unneeded", body });
    tell({ type: "switchboard-authorize-started" });
    location.assign(body.authorization_url);
  });
  say("Preparing the sign-in…");
  tell({ type: "switchboard-popup-ready" });
}

/** Asks `check` every half second for up to `seconds`: its first truthy answer, or null. */
async function waitFor(check, seconds) {
  for (let i = 0; i < seconds * 2; i++) {
    const answer = await check();
    if (answer) return answer;
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

/** Authorizes a connector, then waits (briefly) for its tools to be discovered. */
async function authorizeConnector(connector) {
  try {
    const outcome = await signInPopup(`/api/connectors/${connector.id}/authorize`);
    if (outcome === "error") return alarm(`Signing in to ${connector.name} failed; try again.`);
    say(`Checking ${connector.name}…`);
    // Closed without a word: gone quickly. Unknown (cut off from the popup): the user may still be signing in.
    const seconds = outcome === "closed" ? 3 : outcome === "unknown" ? 300 : 10;
    const current = await waitFor(async () => {
      const now = await api("GET", `/api/connectors/${connector.id}`);
      return now.status !== "needs_authorization" ? now : null;
    }, seconds);
    if (current) {
      done(`${connector.name} is authorized: ${current.tool_count} tools.`);
      tellHost({ type: "switchboard-changed", what: "connectors" });
    } else {
      say(`${connector.name} still needs authorization.`);
    }
  } catch (e) {
    fail(e);
  }
  await (($("manager").hidden) ? showApps() : showManager());
}

function authorizeButton(connector) {
  return el("button", {
    type: "button",
    class: "authorize",
    "aria-label": `Authorize ${connector.name}`,
    onclick: () => authorizeConnector(connector),
  }, "Authorize");
}

function systemToolCard(tool) {
  const soon = tool.status === "coming_soon";
  const unavailable = tool.status === "unavailable";
  const connected = tool.status === "connected";
  const label = soon ? "Coming soon" : unavailable ? "Unavailable" : connected ? "Disconnect"
    : tool.status === "needs_authorization" ? "Sign in again" : "Connect";
  const button = el("button", {
    type: "button",
    class: connected ? "secondary" : "",
    disabled: soon || unavailable,
    "aria-label": `${label} ${tool.name}`,
    onclick: async () => {
      button.disabled = true;
      try {
        const path = `/api/tools/${encodeURIComponent(tool.id)}/${connected ? "disconnect" : "connect"}`;
        if (!connected && tool.auth_type === "oauth") {
          let outcome = await signInPopup(path);
          if (outcome === "unknown") {
            say(`Sign in to ${tool.name} in the window that opened…`);
            const connectedNow = async () => (await api("GET", "/api/tools")).find((t) => t.id === tool.id)?.status === "connected";
            outcome = (await waitFor(connectedNow, 300)) ? "ok" : "closed";
          }
          const ok = outcome === "ok" || outcome?.status === "connected";
          if (ok) done(`${tool.name} connected.`);
          else alarm(`${tool.name} was not connected.`);
          if (ok) tellHost({ type: "switchboard-changed", what: "tools" });
        } else {
          await api("POST", path);
          done(`${tool.name} ${connected ? "disconnected" : "connected"}.`);
        }
        await showApps();
      } catch (e) {
        fail(e);
        button.disabled = false;
      }
    },
  }, label);
  return el("li", { class: "card", "data-tool": tool.id },
    el("span", { class: "icon", "aria-hidden": "true" }, icon(tool.icon)),
    el("div", {},
      el("div", { class: "name" }, tool.name, el("span", { class: `badge ${tool.status}` }, tool.status.replace("_", " "))),
      el("div", { class: "description" }, tool.description),
      unavailable ? notConfigured(`${tool.name} is not available on this server`, tool.needs_settings) : ""),
    el("div", { class: "actions" }, button),
    functionPolicies(tool));
}

/** A feature the operator has not set up: user words first, the settings behind a toggle. */
function notConfigured(what, settings) {
  return el("details", { class: "unavailable" },
    el("summary", {}, `${what}: ask your administrator.`),
    el("p", {}, `For the administrator: set ${settings.join(" and ")}.`));
}

/** Without a model the chat says so before anyone types. */
async function showChatAvailability() {
  const config = await loadConfig();
  const off = config.chat === false;
  $("chat-unavailable").replaceChildren(off ? notConfigured("Chat is not available on this server", config.chat_settings || []) : "");
  $("chat-unavailable").hidden = !off;
  $("chat-input").disabled = off;
  $("send").disabled = off;
}

/** "Changes to review (n)": opens the review of what the server changed. */
function reviewButton(connector) {
  if (!connector.changes_pending) return "";
  return el("button", {
    type: "button",
    class: "review",
    "data-review": connector.id,
    onclick: () => reviewChanges(connector),
  }, `Changes to review (${connector.changes_pending})`);
}

/** What a change means for agents, in words. */
function changeSummary(change) {
  if (change.rejected) return "You rejected this change: agents keep the version you approved, or nothing if it cannot serve.";
  if (change.change === "added") return "New tool: agents cannot use it until you approve it.";
  if (change.change === "removed") return "Removed by the server: agents no longer see it.";
  return change.held_out
    ? "Changed so that earlier calls would fail, or it claims to be less safe: agents cannot use it until you approve the new version."
    : "Changed: agents keep using the version you approved until you approve the new one.";
}

/** Every part of a tool the user approves, as text. */
const TOOL_PARTS = [
  ["title", (t) => t.title || "(none)"],
  ["description", (t) => t.description || "(none)"],
  ["inputs", (t) => JSON.stringify(t.input_schema ?? null, null, 2)],
  ["output", (t) => JSON.stringify(t.output_schema ?? null, null, 2)],
  ["hints", (t) => JSON.stringify(t.annotations ?? null, null, 2)],
];

/** The readable difference of one tool: each part that changed, before and after (or all of a new or removed one). */
function changeDetails(change) {
  const block = (label, value, cls) => el("div", {}, el("strong", {}, label),
    (value.includes("\n") ? el("pre", { class: cls }, value) : el("p", { class: cls }, value)));
  if (change.change === "added" || change.change === "removed") {
    const tool = change.offered || change.approved;
    const cls = change.offered ? "now" : "was";
    return TOOL_PARTS.filter(([, show]) => !["(none)", "null"].includes(show(tool))).map(([label, show]) => block(`${label[0].toUpperCase()}${label.slice(1)}`, show(tool), cls));
  }
  return TOOL_PARTS.filter(([, show]) => show(change.approved) !== show(change.offered)).map(([label, show]) =>
    el("div", { class: "diff" },
      block(`Approved ${label}`, show(change.approved), "was"),
      block(`New ${label}`, show(change.offered), "now")));
}

/** Opens the review of a connector's held tool changes; each is approved or rejected, or all at once. */
async function reviewChanges(connector) {
  const dialog = $("review-changes");
  const decide = async (decision, tools) => {
    try {
      const body = tools ? { decision, review: listed.review, tools } : { decision, review: listed.review };
      const updated = await api("POST", `/api/connectors/${connector.id}/changes`, body);
      const what = tools ? tools.join(", ") : "all changes";
      done(`${connector.name}: ${decision === "approve" ? "approved" : "rejected"} ${what}.`);
      if (updated.changes_pending) await reviewChanges(updated);
      else dialog.close();
      await ($("manager").hidden ? showApps() : showManager());
    } catch (e) {
      fail(e);
      if (e.code === "CHANGES_MOVED") await reviewChanges(connector);
    }
  };
  let listed;
  try {
    listed = await api("GET", `/api/connectors/${connector.id}/changes`);
  } catch (e) {
    return fail(e);
  }
  $("review-title").textContent = `Changes to review: ${connector.name}`;
  $("review-list").replaceChildren(...listed.changes.map((change) => el("li", { "data-change": change.tool },
    el("h4", {}, change.tool,
      el("span", { class: `badge ${change.change}` }, change.change),
      change.rejected ? el("span", { class: "badge rejected" }, "rejected") : ""),
    el("p", {}, changeSummary(change)),
    ...changeDetails(change),
    el("p", {},
      el("button", { type: "button", class: "approve", "aria-label": `Approve the change to ${change.tool}`,
        onclick: () => decide("approve", [change.tool]) }, "Approve"),
      " ",
      change.rejected ? "" : el("button", { type: "button", class: "secondary reject", "aria-label": `Reject the change to ${change.tool}`,
        onclick: () => decide("reject", [change.tool]) }, "Reject")))));
  $("review-approve-all").onclick = () => decide("approve");
  $("review-reject-all").onclick = () => decide("reject");
  $("review-close").onclick = () => dialog.close();
  if (!dialog.open) dialog.showModal();
  $("review-title").focus();
}

function connectorCard(connector) {
  const toggle = el("input", {
    type: "checkbox",
    checked: connector.enabled,
    onchange: async () => {
      toggle.disabled = true;
      try {
        await api("POST", `/api/connectors/${connector.id}/toggle`, { enabled: toggle.checked });
        done(`${connector.name} ${toggle.checked ? "enabled" : "disabled"}.`);
        await showApps();
      } catch (e) {
        fail(e);
        toggle.checked = !toggle.checked;
        toggle.disabled = false;
      }
    },
  });
  return el("li", { class: "card", "data-connector": connector.id },
    el("span", { class: "icon", "aria-hidden": "true" }, "⇄"),
    el("div", {},
      el("div", { class: "name" }, connector.name, el("span", { class: `badge ${connector.status}` }, connector.status.replace("_", " "))),
      el("div", { class: "description" }, `${connector.tool_count} tools · ${connector.server_url}`),
      lastError(connector)),
    el("div", { class: "actions" },
      reviewButton(connector),
      connector.status === "needs_authorization" ? authorizeButton(connector) : "",
      el("label", { class: "switch" }, toggle, `Enabled`)));
}

/** A degraded connector: its last error, and since when. */
function lastError(connector) {
  if (connector.status !== "degraded" || !connector.last_error_code) return "";
  const since = new Date(connector.updated_at).toLocaleString();
  return el("div", { class: "description problem" }, `Last error: ${connector.last_error_code} (checked ${since})`);
}

/** "Notes · search", as system tools already read ("Gmail · send_email"). */
function pickerName(details) {
  return details.source.kind === "connector" ? `${details.source.name} · ${details.display_name}` : details.display_name;
}

/** The catalog in the tool picker, keeping the current pick when it is still there. */
async function loadPicker() {
  const catalog = await api("GET", "/api/agent/tools");
  const picked = $("pick-tool").value;
  $("pick-tool").replaceChildren(el("option", { value: "" }, "(the agent decides)"),
    ...catalog.tools.map((tool) => el("option", { value: tool.function.name }, pickerName(tool["x-switchboard"]))));
  $("pick-tool").value = catalog.tools.some((t) => t.function.name === picked) ? picked : "";
  showChip();
}

function showChip() {
  const select = $("pick-tool");
  $("chip").hidden = !select.value;
  $("chip-name").textContent = select.value ? select.selectedOptions[0].textContent : "";
}

function line(kind, text) {
  $("transcript").append(el("li", { class: kind }, text));
}

/** Sends one message as an agent turn and streams what happens. */
async function sendMessage(event) {
  event.preventDefault();
  const content = $("chat-input").value.trim();
  if (!content) return;
  const picked = $("pick-tool").value;
  const body = { messages: [{ role: "user", content }], selected_tools: picked ? [picked] : [] };
  $("send").disabled = true;
  line("user", `You: ${content}`);
  try {
    const run = await api("POST", "/api/agent/runs", body);
    $("chat-input").value = "";
    $("pick-tool").value = "";
    showChip();
    const shown = new Set();
    await followRun(run.events_url, (name, data) => {
      const waitsFor = name === "awaiting_approval" ? data.approval_id : data.status === "awaiting_approval" && data.approval_id;
      if (waitsFor && !shown.has(waitsFor)) {
        shown.add(waitsFor);
        approvalInChat(waitsFor);
      }
      const steps = name === "step" ? [data.step] : data.steps || [];
      for (const step of steps) {
        const key = `${step.name}:${step.status}`;
        if (shown.has(key) || step.status === "pending") continue;
        shown.add(key);
        if (step.name.startsWith("tool_") && step.status !== "running") line("tool", `Tool ${step.message || ""} (${step.status})`);
        else if (step.name.startsWith("tool_")) line("tool", `Calling ${step.message || "a tool"}…`);
      }
      if (data.finished_at) {
        if (data.status === "succeeded") line("answer", data.result?.message || "");
        else line("error", `The agent failed (${data.error_code}): ${data.error_message || ""}`);
        return "done";
      }
    });
  } catch (e) {
    if (e.message !== "signed out") line("error", e.message);
  } finally {
    $("send").disabled = false;
  }
}

async function showApps() {
  try {
    const [tools, list] = await Promise.all([api("GET", "/api/tools"), api("GET", "/api/connectors"), loadPicker()]);
    $("system-tools").replaceChildren(...tools.map(systemToolCard));
    $("connectors").replaceChildren(...list.connectors.map(connectorCard));
    if (list.connectors.length === 0) $("connectors").append(el("li", { class: "card empty" }, "", "No connectors yet.", ""));
    $("connector-count").textContent = `(${list.connectors.length} of ${list.limit})`;
    $("apps").hidden = false;
    await Promise.all([showApprovals(), showChatAvailability()]);
  } catch (e) {
    fail(e);
  }
}

// ---- Connectors manager ----------------------------------------------------

const FIELDS = ["name", "server_url", "description", "auth_type", "token", "client_id", "client_secret", "scopes", "headers"];
const manager = { editing: null, passed: null, limit: 10 };

/** The form as the API's connector body (the token left out when empty: "keep the stored one"). */
function formBody() {
  const value = (name) => $(`f-${name}`).value.trim();
  const headers = {};
  for (const line of $("f-headers").value.split("\n")) {
    const at = line.indexOf(":");
    // An empty value keeps the stored one (values are never shown).
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim() || null;
  }
  const body = { name: value("name"), server_url: value("server_url"), description: value("description"), auth_type: value("auth_type"), headers };
  if (body.auth_type === "bearer" && value("token")) body.auth_config = { token: value("token") };
  if (body.auth_type === "oauth") {
    const config = {};
    if (value("client_id")) config.client_id = value("client_id");
    if (value("client_secret")) config.client_secret = value("client_secret");
    const scopes = value("scopes").split(/\s+/).filter(Boolean);
    if (scopes.length) config.scopes = scopes;
    body.auth_config = config;
  }
  return body;
}

/** What a connection test checks: the address, the auth and the headers (not the name or description). */
const fingerprint = () => {
  const { server_url, auth_type, auth_config, headers } = formBody();
  return JSON.stringify({ server_url, auth_type, auth_config, headers });
};

/** Editing without touching the connection: the server saves it without a new test. */
function connectionUnchanged() {
  const stored = manager.editing;
  if (!stored) return false;
  const body = formBody();
  const config = body.auth_config && Object.keys(body.auth_config).length > 0;
  const headers = Object.entries(body.headers);
  return body.server_url === stored.server_url && body.auth_type === stored.auth_type && !config
    && headers.length === stored.headers.length && headers.every(([name, value]) => value === null && stored.headers.includes(name));
}

function formChanged() {
  $("token-field").hidden = $("f-auth_type").value !== "bearer";
  $("oauth-fields").hidden = $("f-auth_type").value !== "oauth";
  const current = fingerprint();
  const passed = manager.passed && manager.passed.fingerprint === current;
  const named = $("f-name").value.trim() !== "";
  const ready = named && (passed || connectionUnchanged());
  $("save").disabled = !ready;
  // Results of a test of other settings stay visible, greyed out.
  const stale = Boolean(manager.tested) && manager.tested !== current;
  for (const id of ["steps", "test-result", "found-tools"]) $(id).classList.toggle("stale", stale);
  $("save-hint").textContent = ready ? ""
    : !named ? "Enter a name to enable Save."
    : stale ? "The settings changed since the test: test again to enable Save."
    : "Test the connection to enable Save.";
}

function clearErrors() {
  for (const name of [...FIELDS, "auth_config"]) {
    const error = $(`e-${name}`);
    if (error) error.textContent = "";
  }
}

/** 422 details beside their fields (`loc: ["body", field, …]`). */
function showErrors(details) {
  for (const detail of details || []) {
    // auth_config errors land beside their own field when the form has one.
    const error = (detail.loc?.[1] === "auth_config" && $(`e-${detail.loc?.[2]}`)) || $(`e-${detail.loc?.[1]}`);
    if (error) error.textContent = detail.msg;
    else alarm(detail.msg);
  }
}

function openForm(connector) {
  manager.editing = connector;
  manager.passed = null;
  manager.tested = null;
  $("form-title").textContent = connector ? `Edit ${connector.name}` : "Add a connector";
  $("f-name").value = connector?.name || "";
  $("f-server_url").value = connector?.server_url || "";
  $("f-description").value = connector?.description || "";
  $("f-auth_type").value = connector?.auth_type || "none";
  $("f-token").value = "";
  const storedOauth = connector?.auth_type === "oauth" && connector?.auth?.configured;
  for (const name of ["client_id", "client_secret", "scopes"]) {
    $(`f-${name}`).value = "";
    $(`f-${name}`).placeholder = storedOauth ? "Stored; leave empty to keep it" : "";
  }
  $("f-token").placeholder = connector?.auth?.configured ? `Stored (${connector.auth.hint || "set"}); leave empty to keep it` : "";
  $("f-headers").value = (connector?.headers || []).map((name) => `${name}: `).join("\n");
  $("steps").replaceChildren();
  $("test-result").textContent = "";
  $("found-tools").replaceChildren();
  clearErrors();
  $("connector-form").hidden = false;
  formChanged();
  $("f-name").focus();
}

function renderSteps(steps) {
  $("steps").replaceChildren(...steps.map((step) => {
    const time = step.duration_ms != null ? ` (${step.duration_ms} ms)` : "";
    return el("li", { "data-step": step.name, "data-status": step.status }, `${step.name.replace("_", " ")}: ${step.status}${time}`);
  }));
}

/** Reads a run's SSE stream with fetch (EventSource cannot send the token); calls onEvent(name, data). */
async function followRun(eventsUrl, onEvent) {
  let lastId = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` };
    if (lastId) headers["Last-Event-ID"] = lastId;
    try {
      const response = await fetch(eventsUrl, { headers });
      if (!response.ok) throw new Error(`events: ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
            else if (line.startsWith("id:")) lastId = line.slice(3).trim();
          }
          if (data && onEvent(name, JSON.parse(data)) === "done") return;
        }
      }
    } catch (e) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error("Lost the test's progress; try again.");
}

/** How calls to a server go, by the era the test found (ServerInfo.era). */
const ERA_WORDS = {
  stateless: "each call is one request",
  session: "calls share a session",
  legacy_sse: "over the older SSE transport",
};

/** "fixture-server speaks MCP 2026-07-28 (each call is one request)." */
function aboutServer(server) {
  if (!server) return "";
  const era = ERA_WORDS[server.era] ? ` (${ERA_WORDS[server.era]})` : "";
  return ` ${server.name || "The server"} speaks MCP ${server.protocol_version}${era}.`;
}

function showResult(run) {
  renderSteps(run.steps || []);
  const result = run.result || {};
  const ok = run.status === "succeeded" && result.success;
  const message = result.error_message || run.error_message || "";
  $("test-result").textContent = ok
    ? `Connection works: ${(result.tools || []).length} tools found.${aboutServer(result.server)}${result.error_code === "NO_TOOLS" ? " " + message : ""}`
    : `Test failed (${result.error_code || run.error_code}): ${message}`;
  $("found-tools").replaceChildren(...(result.tools || []).map((tool) => el("li", {},
    el("strong", {}, tool.title || tool.name), " ", tool.description || "",
    tool.annotations?.readOnlyHint ? el("span", { class: "badge" }, "read-only") : "",
    tool.annotations?.destructiveHint ? el("span", { class: "badge degraded" }, "destructive") : "")));
  return ok;
}

async function runTest() {
  clearErrors();
  $("test").disabled = true;
  $("save").disabled = true;
  manager.passed = null;
  const tested = fingerprint();
  manager.tested = tested;
  const body = formBody();
  $("test-result").textContent = "";
  $("found-tools").replaceChildren();
  say("Testing the connection…");
  try {
    const path = manager.editing ? `/api/connectors/${manager.editing.id}/test` : "/api/connectors/test";
    const run = await api("POST", path, body);
    let steps = run.steps || [];
    renderSteps(steps);
    let final = null;
    await followRun(run.events_url, (name, data) => {
      if (name === "run" || name === "finished") {
        steps = data.steps || steps;
        renderSteps(steps);
        if (data.finished_at) { final = data; return "done"; }
      } else if (name === "step") {
        const step = data.step;
        const at = steps.findIndex((s) => s.name === step.name);
        if (at >= 0) steps[at] = step; else steps.push(step);
        renderSteps(steps);
      }
    });
    const passed = final && showResult(final);
    // An OAuth server that asks for sign-in is reachable: save it, then Authorize.
    const signIn = final?.error_code === "AUTH_REQUIRED" && body.auth_type === "oauth";
    if ((passed || signIn) && tested === fingerprint()) {
      manager.passed = { fingerprint: tested, runId: final.id, noTools: final.result?.error_code === "NO_TOOLS", signIn };
    }
    const outcome = signIn ? "The server wants you to sign in: save it, then press Authorize."
      : manager.passed ? "Test passed: you can save." : "The test did not pass; fix the settings and test again.";
    if (manager.passed) done(outcome);
    else alarm(outcome);
    // The results, in view and focused, for keyboard and screen-reader users.
    $("test-result").focus();
    $("test-result").scrollIntoView({ block: "nearest" });
  } catch (e) {
    if (e.details) showErrors(e.details);
    fail(e);
  } finally {
    $("test").disabled = false;
    formChanged();
  }
}

async function save(event) {
  event.preventDefault();
  const passed = manager.passed?.fingerprint === fingerprint();
  if (!passed && !connectionUnchanged()) return;
  if (passed && manager.passed.noTools && !window.confirm("This server offers no tools yet. Save it anyway?")) return;
  clearErrors();
  const body = { ...formBody(), test_run_id: manager.passed?.runId };
  try {
    if (manager.editing) await api("PUT", `/api/connectors/${manager.editing.id}`, body);
    else await api("POST", "/api/connectors", body);
    done(manager.passed?.signIn ? `${body.name} is saved: press Authorize to sign in.` : `${body.name} is saved.`);
    $("connector-form").hidden = true;
    await showManager();
  } catch (e) {
    showErrors(e.details);
    fail(e);
  }
}

function confirmDelete(connector) {
  const dialog = $("confirm-delete");
  $("confirm-text").textContent = `Delete the connector “${connector.name}”? Agents lose its tools.`;
  $("confirm-yes").onclick = async () => {
    dialog.close();
    try {
      await api("DELETE", `/api/connectors/${connector.id}`);
      done(`${connector.name} deleted.`);
      await showManager();
    } catch (e) {
      fail(e);
    }
  };
  $("confirm-no").onclick = () => dialog.close();
  dialog.showModal();
  $("confirm-no").focus();
}

async function showManager() {
  $("apps").hidden = true;
  $("manager").hidden = false;
  try {
    const list = await api("GET", "/api/connectors");
    manager.limit = list.limit;
    $("limit").textContent = `${list.connectors.length} of ${list.limit} connectors`;
    $("add").disabled = list.connectors.length >= list.limit;
    $("manager-list").replaceChildren(...list.connectors.map((connector) => el("li", { class: "card", "data-connector": connector.id },
      el("span", { class: "icon", "aria-hidden": "true" }, "⇄"),
      el("div", {},
        el("div", { class: "name" }, connector.name, el("span", { class: `badge ${connector.status}` }, connector.status.replace("_", " "))),
        el("div", { class: "description" }, connector.server_url)),
      el("div", { class: "actions" },
        reviewButton(connector),
        connector.status === "needs_authorization" ? authorizeButton(connector) : "",
        " ",
        el("button", { type: "button", class: "secondary edit", "aria-label": `Edit ${connector.name}`, onclick: () => openForm(connector) }, "Edit"),
        " ",
        el("button", { type: "button", class: "secondary delete", "aria-label": `Delete ${connector.name}`, onclick: () => confirmDelete(connector) }, "Delete")),
      toolPolicies(connector))));
  } catch (e) {
    fail(e);
  }
}

function start() {
  const flow = new URLSearchParams(location.search).get("authorize");
  if (flow && window.opener) return authorizePopup(flow);
  document.body.classList.toggle("embed", EMBED);
  reportHeight();
  tellHost({ type: "switchboard-ready" });
  $("manage").addEventListener("click", () => { clearMessages(); showManager(); });
  $("pick-tool").addEventListener("change", () => {
    showChip();
    if (EMBED) tellHost({ type: "switchboard-tool-picked", tool: $("pick-tool").value || null });
  });
  $("chip-clear").addEventListener("click", () => { $("pick-tool").value = ""; showChip(); });
  $("chat-form").addEventListener("submit", sendMessage);
  $("back").addEventListener("click", () => { clearMessages(); $("manager").hidden = true; $("connector-form").hidden = true; showApps(); });
  $("add").addEventListener("click", () => openForm(null));
  $("cancel").addEventListener("click", () => { $("connector-form").hidden = true; });
  $("test").addEventListener("click", runTest);
  $("connector-form").addEventListener("submit", save);
  $("connector-form").addEventListener("input", formChanged);
  $("connector-form").addEventListener("change", formChanged);

  $("dev-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = $("dev-user").value.trim();
    const response = await fetch("/ui/dev-sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user }),
    }).catch(() => null);
    const data = await response?.json().catch(() => null);
    if (!response?.ok) return alarm(data?.error?.message || "Sign-in failed.");
    signedIn(data.token);
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signedIn($("token-input").value.trim());
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn("Signed out.");
  });
  // In a frame, a link's token is never offered: the frame's host could hide the question.
  const framed = window.parent !== window;
  window.addEventListener("hashchange", () => {
    const linked = tokenFromFragment();
    if (linked && !framed) offerToken(linked);
  });
  const linked = framed ? (tokenFromFragment(), null) : tokenFromFragment();
  if (linked) offerToken(linked);
  else if (sessionStorage.getItem(TOKEN_KEY)) signedIn(sessionStorage.getItem(TOKEN_KEY));
  else showSignIn("");
}

document.addEventListener("DOMContentLoaded", start);
