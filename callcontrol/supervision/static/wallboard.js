// The live wallboard: one plain ES module, no build step. The board arrives as server-sent events on /events,
// read with fetch (so the token travels in the Authorization header, never in a URL); a dropped stream (a restart
// of callcontrol) is retried every second by itself. The token lives in sessionStorage (gone with the tab).
import { translator } from "./i18n.js";
import { TicketsPanel } from "./tickets.js";

const TOKEN_KEY = "callcontrol.token";
const LANG_KEY = "callcontrol.lang";
const RETRY_MS = 1000;
const SILENCE_MS = 40000;
// The switchboard's actions on a waiting call: the JSON API's endpoints (docs/api.md, /openapi.json).
const ACTIONS = {
  redirect: (call, agent) => [`/api/calls/${encodeURIComponent(call)}/redirect`, { agent }],
  move: (call, hotline) => [`/api/calls/${encodeURIComponent(call)}/move`, { hotline }],
  pickup: (call) => [`/api/calls/${encodeURIComponent(call)}/pickup`, {}],
  voicemail: (call) => [`/api/calls/${encodeURIComponent(call)}/voicemail`, {}],
};

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem(LANG_KEY) || "fr";
let t = translator(lang);
let board = null;
let offset = 0; // server clock - browser clock, seconds
let stream = null; // AbortController of the open stream

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child.nodeType ? child : String(child));
  }
  return node;
}

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const serverNow = () => Date.now() / 1000 + offset;
const counting = (since, attrs = {}) =>
  el("span", { class: "count", "data-since": since ?? "", ...attrs }, since ? duration(serverNow() - since) : "—");

function tick() {
  for (const node of document.querySelectorAll("[data-since]")) {
    const since = Number(node.dataset.since);
    if (since) node.textContent = duration(serverNow() - since);
  }
  $("clock").textContent = new Date(serverNow() * 1000).toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB");
}

// ------------------------------------------------------------------------------------------------ rendering

function applyWords() {
  document.documentElement.lang = lang;
  document.title = `${t("title")} — callcontrol`;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("lang").textContent = t("lang_switch");
  if (board) render();
}

function tile(h, detailed) {
  const oldest = h.calls.length ? Math.min(...h.calls.map((c) => c.since)) : null;
  const sl = h.service_level === null ? "—" : `${Math.round(h.service_level * 100)} %`;
  const alarm = h.on_call && h.agents.available + h.agents.busy === 0;
  const calls = h.calls.length
    ? el("ol", { class: "calls" }, h.calls.map((c) => callRow(c, h, detailed)))
    : el("p", { class: "quiet" }, t("nobody_waits"));
  return el("article", { class: `tile${h.waiting ? " busy" : ""}${alarm ? " alarm" : ""}`, "data-hotline": h.id,
                         "data-testid": `hotline-${h.id}` },
    el("h3", {}, h.name, h.on_call ? el("span", { class: "tag" }, t("on_call")) : null),
    alarm ? el("p", { class: "warning" }, t("nobody_reachable")) : null,
    el("div", { class: "figures" },
      figure(h.waiting, t("waiting"), "waiting"),
      figure(oldest ? counting(oldest) : "—", t("longest"), "longest"),
      figure(sl, t("service_level"), "service-level", t("sl_hint", { s: board.target })),
      figure(h.open_tickets ?? 0, t("open_tickets"), "open-tickets", t("tickets_hint"))),
    el("p", { class: "staff" },
      el("span", { class: "st-available", "data-testid": "available" }, `${h.agents.available} ${t("available")}`),
      el("span", { class: "st-busy", "data-testid": "busy" }, `${h.agents.busy} ${t("busy")}`),
      el("span", { class: "st-away", "data-testid": "away" }, `${h.agents.away} ${t("away")}`)),
    calls);
}

function figure(value, label, id, hint) {
  return el("div", { class: "figure", "data-testid": id, title: hint },
    el("strong", {}, value), el("span", {}, label));
}

function callRow(c, h, detailed) {
  const actions = detailed && c.id
    ? el("span", { class: "actions" },
      el("button", { type: "button", "data-action": "redirect", onclick: () => chooseAgent(c, h) }, t("redirect")),
      el("button", { type: "button", "data-action": "move", onclick: () => chooseHotline(c, h) }, t("move")),
      el("button", { type: "button", "data-action": "pickup", onclick: () => act(ACTIONS.pickup(c.id)) },
        t("pickup")),
      el("button", { type: "button", "data-action": "voicemail", onclick: () => act(ACTIONS.voicemail(c.id)) },
        t("voicemail")))
    : null;
  return el("li", { class: "call", "data-call": c.id ?? null, "data-testid": "waiting-call" },
    el("span", { class: "pos" }, `${t("position")}${c.position}`),
    c.caller ? el("span", { class: "caller" }, c.caller) : null,
    counting(c.since, { "data-testid": "wait" }),
    actions);
}

function agentRow(a) {
  const status = a.status ? t(`s_${a.status}`) : t(`st_${a.state}`);
  return el("tr", { "data-agent": a.id, "data-testid": `agent-${a.id}`, class: `st-${a.state}` },
    el("td", {}, a.name),
    el("td", {}, el("span", { class: "badge" }, status),
      a.pause_reason ? el("span", { class: "reason", "data-testid": "pause-reason" }, ` (${a.pause_reason})`) : null,
      a.reachable === false && a.state !== "away" ? el("span", { class: "reason" }, ` ${t("unreachable")}`) : null),
    el("td", {}, counting(a.since)),
    el("td", { class: "lines" }, a.hotlines.map((id) => hotlineName(id)).join(", ")));
}

const hotlineName = (id) => board.hotlines.find((h) => h.id === id)?.name ?? id;

function render() {
  const detailed = board.role === "switchboard" || board.role === "supervisor";
  const title = $("hotlines-title");
  $("hotlines").replaceChildren(title, ...board.hotlines.map((h) => tile(h, detailed)));
  $("agents").replaceChildren(...board.agents.map(agentRow));
  $("role").textContent = t(`r_${board.role}`);
  tickets.update(board, detailed);
  tick();
}

const tickets = new TicketsPanel({ el, t: (...args) => t(...args), token: () => sessionStorage.getItem(TOKEN_KEY),
                                   flash: (text) => flash(text), section: $("tickets"), list: $("ticket-list") });

// ------------------------------------------------------------------------------------------------ actions

function dialog(title, choices) {
  $("action-title").textContent = title;
  $("action-error").textContent = "";
  $("action-choices").replaceChildren(...choices);
  $("action").showModal();
}

function chooseAgent(call, hotline) {
  const own = new Set(hotline.agent_ids);
  const agents = [...board.agents].sort((a, b) => (own.has(b.id) - own.has(a.id)) || a.name.localeCompare(b.name));
  dialog(`${t("redirect_to")} (${hotline.name} ${t("position")}${call.position})`, agents.map((a) =>
    el("button", { type: "button", class: `choice st-${a.state}`, "data-agent": a.id,
                   onclick: () => act(ACTIONS.redirect(call.id, a.id), true) },
      a.name, el("small", {}, a.status ? t(`s_${a.status}`) : t(`st_${a.state}`)))));
}

function chooseHotline(call, hotline) {
  dialog(t("move_to"), board.hotlines.filter((h) => h.id !== hotline.id).map((h) =>
    el("button", { type: "button", class: "choice", "data-hotline": h.id,
                   onclick: () => act(ACTIONS.move(call.id, h.id), true) }, h.name)));
}

async function act([path, body], fromDialog = false) {
  const response = await fetch(path, {
    method: "POST",
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  }).catch(() => null);
  if (response && response.ok) {
    if (fromDialog) $("action").close();
    flash(t("done"));
    return;
  }
  const problem = response ? await response.json().catch(() => ({})) : {};
  const reason = `${t("failed")}: ${problem.reason || (response ? response.status : "network")}`;
  if (fromDialog) $("action-error").textContent = reason;
  else flash(reason);
}

function flash(text) {
  const status = $("status");
  status.textContent = text;
  setTimeout(() => setStatus(stream ? "live" : "reconnecting"), 2000);
}

// ------------------------------------------------------------------------------------------------ the stream

function setStatus(key) {
  $("status").textContent = t(key);
  $("status").dataset.state = key;
}

function showLogin(error = "") {
  $("login").hidden = false;
  $("board").hidden = true;
  $("logout").hidden = true;
  $("login-error").textContent = error;
  $("status").textContent = "";
}

async function connect() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return showLogin();
  const controller = new AbortController();
  stream = controller;
  setStatus(board ? "reconnecting" : "connecting");
  try {
    const response = await fetch("/events", { headers: { Authorization: `Bearer ${token}` },
                                              signal: controller.signal, cache: "no-store" });
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      stream = null;
      return showLogin(t("bad_token"));
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    $("login").hidden = true;
    $("board").hidden = false;
    $("logout").hidden = false;
    setStatus("live");
    await readEvents(response.body.getReader());
  } catch (error) {
    if (controller.signal.aborted) return;
  }
  if (stream !== controller) return;
  setStatus("reconnecting");
  setTimeout(connect, RETRY_MS);
}

async function readEvents(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    // The server writes at least every 15 s (a keepalive): silence for longer is a dead connection.
    const silence = setTimeout(() => reader.cancel(), SILENCE_MS);
    const { value, done } = await reader.read().finally(() => clearTimeout(silence));
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart());
      if (/^event: board$/m.test(block) && data.length) receive(JSON.parse(data.join("\n")));
    }
  }
}

function receive(next) {
  board = next;
  offset = board.now - Date.now() / 1000;
  render();
}

// ------------------------------------------------------------------------------------------------ start

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  connect();
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  stream?.abort();
  stream = null;
  board = null;
  tickets.forget();
  showLogin();
});
$("lang").addEventListener("click", () => {
  lang = lang === "fr" ? "en" : "fr";
  localStorage.setItem(LANG_KEY, lang);
  t = translator(lang);
  applyWords();
});
applyWords();
setInterval(tick, 1000);
connect();
