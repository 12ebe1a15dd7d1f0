// Switchboard's web UI, part two: what agents may do and what they did.
// Per-tool Allow / Ask / Block and each connector's default (in the manager),
// "Waiting for your approval" (in the Apps menu and the chat), and the
// Activity view of recent runs. Uses app.js's helpers (el, api, say, fail, $).
"use strict";

const POLICY_WORDS = { allow: "Allow", ask: "Ask", block: "Block" };
const DEFAULT_WORDS = { auto: "Ask unless read-only", allow: "Allow", ask: "Ask", block: "Block" };

/** A labelled select that saves on change and says so. */
function policySelect(label, value, words, save) {
  const select = el("select", { "aria-label": label, onchange: async () => {
    select.disabled = true;
    try {
      await save(select.value);
      done(`${label}: ${words[select.value]}.`);
    } catch (e) {
      select.value = value;
      fail(e);
    } finally {
      select.disabled = false;
    }
  } }, ...Object.entries(words).map(([v, text]) => el("option", { value: v }, text)));
  select.value = value;
  return select;
}

/** The connector's default and one Allow / Ask / Block per discovered tool. */
function toolPolicies(connector) {
  const base = `/api/connectors/${connector.id}`;
  const fallback = policySelect(`Default for ${connector.name}'s tools`, connector.tool_policy, DEFAULT_WORDS,
    async (policy) => { await api("PUT", `${base}/tool-policy`, { policy }); await showManager(); });
  return el("div", { class: "tool-policies" },
    el("label", { class: "policy" }, "Tools without their own setting: ", fallback),
    el("ul", { "aria-label": `Tools of ${connector.name}` }, ...connector.tools.map((tool) => {
      const name = tool.title || tool.name;
      const select = policySelect(`${name} (${connector.name})`, connector.tool_policies[tool.name] || "ask", POLICY_WORDS,
        (policy) => api("PUT", `${base}/tools/${encodeURIComponent(tool.name)}`, { policy }));
      select.dataset.toolPolicy = tool.name;
      return el("li", {}, el("label", { class: "policy" }, select, " ", name,
        el("span", { class: "description" }, tool.description ? ` — ${tool.description}` : "")));
    })));
}

/** A system tool's functions, each with its policy (when connected). */
function functionPolicies(tool) {
  if (tool.status !== "connected") return "";
  return el("ul", { class: "tool-policies", "aria-label": `Functions of ${tool.name}` }, ...tool.functions.map((f) => {
    const select = policySelect(`${f.name} (${tool.name})`, f.policy, POLICY_WORDS,
      (policy) => api("PUT", `/api/tools/${encodeURIComponent(tool.id)}/functions/${encodeURIComponent(f.name)}`, { policy }));
    select.dataset.functionPolicy = f.name;
    return el("li", {}, el("label", { class: "policy" }, select, " ", f.name));
  }));
}

/** Decides an approval; says what happened and refreshes the lists. */
async function decideApproval(approval, decision) {
  try {
    await api("POST", `/api/approvals/${approval.id}`, { decision });
    const words = { approve: "approved", deny: "denied", always: "approved, and allowed from now on" };
    done(`${approval.display_name}: ${words[decision]}.`);
  } catch (e) {
    fail(e);
  }
  await showApprovals();
}

/** Approve / Deny / Always allow, with the call's arguments on request. */
function approvalCard(approval) {
  const details = el("pre", { class: "arguments", hidden: true });
  const show = el("button", { type: "button", class: "secondary", "aria-expanded": "false", onclick: async () => {
    if (details.hidden) {
      const full = await api("GET", `/api/approvals/${approval.id}`).catch((e) => (fail(e), null));
      details.textContent = JSON.stringify(full?.arguments ?? {}, null, 2);
    }
    details.hidden = !details.hidden;
    show.setAttribute("aria-expanded", String(!details.hidden));
  } }, "Arguments");
  const button = (decision, text, secondary) => el("button", {
    type: "button", class: secondary ? "secondary" : "", "data-decision": decision,
    "aria-label": `${text}: ${approval.display_name}`, onclick: () => decideApproval(approval, decision),
  }, text);
  const expires = new Date(approval.expires_at).toLocaleTimeString();
  return el("li", { class: "card approval", "data-approval": approval.id },
    el("span", { class: "icon", "aria-hidden": "true" }, "?"),
    el("div", {},
      el("div", { class: "name" }, approval.display_name),
      el("div", { class: "description" }, `${approval.tool} · from ${approval.origin} · until ${expires}`),
      details),
    el("div", { class: "actions" }, show, " ", button("approve", "Approve"), " ", button("deny", "Deny", true), " ",
      button("always", "Always allow", true)));
}

/** "Waiting for your approval" in the Apps menu. */
async function showApprovals() {
  try {
    const page = await api("GET", "/api/approvals?state=pending");
    $("approvals").replaceChildren(...page.approvals.map(approvalCard));
    $("approvals-box").hidden = page.approvals.length === 0;
  } catch (e) {
    fail(e);
  }
}

/** In the chat: a turn waits for a decision on one call. */
async function approvalInChat(approvalId) {
  const approval = await api("GET", `/api/approvals/${approvalId}`).catch(() => null);
  if (!approval || approval.state !== "pending") return;
  const item = approvalCard(approval);
  item.classList.add("in-chat");
  $("transcript").append(el("li", { class: "tool" }, `The agent wants to use ${approval.display_name}.`), item);
  item.querySelector("[data-decision=approve]").focus();
  await showApprovals();
}

// ---- Activity -----------------------------------------------------------------

const KIND_WORDS = { connection_test: "Connection test", discover_tools: "Tool discovery", invoke_tool: "Tool call", agent_turn: "Agent turn" };

function duration(run) {
  if (!run.started_at || !run.finished_at) return "";
  const ms = new Date(run.finished_at) - new Date(run.started_at);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function activityRow(run, names) {
  const what = [KIND_WORDS[run.kind] || run.kind, run.tool, names.get(run.connector_id)].filter(Boolean).join(" · ");
  const problem = run.error_code ? `${run.error_code}: ${run.error_message || ""}` : "";
  return el("tr", { "data-run": run.id, "data-status": run.status },
    el("td", {}, new Date(run.created_at).toLocaleString()),
    el("td", {}, what),
    el("td", {}, el("span", { class: `badge ${run.status}` }, run.status.replace("_", " "))),
    el("td", {}, duration(run)),
    el("td", { class: "problem" }, problem));
}

/** Recent runs, newest first, optionally of one connector. */
async function showActivity() {
  $("apps").hidden = true;
  $("manager").hidden = true;
  $("activity").hidden = false;
  try {
    const list = await api("GET", "/api/connectors");
    const names = new Map(list.connectors.map((c) => [c.id, c.name]));
    const filter = $("activity-connector");
    const chosen = filter.value;
    filter.replaceChildren(el("option", { value: "" }, "All"), ...list.connectors.map((c) => el("option", { value: c.id }, c.name)));
    filter.value = names.has(chosen) ? chosen : "";
    const query = filter.value ? `?connector_id=${filter.value}` : "";
    const page = await api("GET", `/api/runs${query}`);
    $("activity-rows").replaceChildren(...page.runs.map((run) => activityRow(run, names)));
    $("activity-empty").hidden = page.runs.length > 0;
    $("activity-title").focus();
  } catch (e) {
    fail(e);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("show-activity").addEventListener("click", () => { clearMessages(); showActivity(); });
  $("activity-connector").addEventListener("change", showActivity);
  $("activity-back").addEventListener("click", () => { clearMessages(); $("activity").hidden = true; showApps(); });
});
