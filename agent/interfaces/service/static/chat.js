// The chat page: post a message, render each server-sent event as it arrives, and follow the
// thread while a reviewer decides. It reads as a conversation for the customer: the agent's tool
// steps (and any internal error text) go into one collapsed "steps" list per run, for staff.
// Plain JavaScript, no build step.
"use strict";

const csrf = document.body.dataset.csrf;
let threadId = document.body.dataset.thread || "";
const log = document.getElementById("log");
const statusLine = document.getElementById("status");
const SETTLED = ["completed", "limit_reached", "blocked", "failed"];
let lastAnswer = "";

function line(kind, text) {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = text;
  log.appendChild(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

// The current run's collapsed list of steps (created on its first step).
let steps = null;
function step(kind, text) {
  if (!steps) {
    const holder = line("steps", "");
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "What the agent did (details for staff)";
    steps = document.createElement("ol");
    details.append(summary, steps);
    holder.appendChild(details);
  }
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = text;
  steps.appendChild(item);
}

const WAITING = "Your request needs a colleague's approval. This page continues on its own when they decide.";

function args(values) {
  return Object.entries(values || {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
}

// The answer as the model streams it: a draft line, replaced by the checked answer at the end
// (the output checks may repair or replace what was streamed).
let draft = null;
function onToken(text) {
  if (!draft) draft = line("agent draft", "");
  draft.textContent += text;
  document.body.dataset.tokens = String(Number(document.body.dataset.tokens || 0) + 1);
  draft.scrollIntoView({ block: "end" });
}
function dropDraft() {
  if (draft) draft.remove();
  draft = null;
}

function answer(text) {
  dropDraft();
  if (text && text !== lastAnswer) {
    lastAnswer = text;
    line("agent", text);
    steps = null; // the next run's steps get their own list
  }
}

function onEvent(kind, data) {
  if (kind === "token") {
    onToken(data.text);
  } else if (kind === "model") {
    if ((data.tool_calls || []).length) dropDraft(); // text beside tool calls is not the answer
    for (const call of data.tool_calls || []) step("step", `model → ${call.tool}(${args(call.args)})`);
  } else if (kind === "approval_requested") {
    step("paused", `‖ ${data.tool}(${args(data.args)}) needs a reviewer's approval (${data.approval_id})`);
    line("pause", WAITING);
  } else if (kind === "tool_refused") {
    step("refused", `✗ ${data.tool}: ${data.error.message}`);
  } else if (kind === "approval_decided") {
    step("decided", `⚖ ${data.tool}: ${data.decision || "expired"} by ${data.decided_by || "nobody"}`);
  } else if (kind === "tool_result") {
    step(data.ok ? "result" : "refused", `${data.ok ? "✓" : "✗"} ${data.tool}: ${data.summary}`);
  } else if (kind === "final") {
    answer(data.answer);
  } else if (kind === "error") {
    step("error", `error: ${data.message}`);
    line("agent", "Sorry, something went wrong on our side. Please try again in a moment.");
    setStatus("error");
  } else if (kind === "status") {
    onStatus(data);
  }
}

function setStatus(text) {
  statusLine.textContent = text;
  statusLine.dataset.status = text;
}

function onStatus(data) {
  setStatus(data.status);
  if (data.status === "awaiting_approval") {
    statusLine.textContent = "Waiting for a reviewer… this page continues when they decide.";
    follow();
  } else if (SETTLED.includes(data.status)) {
    answer(data.answer);
    traceLink(data.run_id);
  }
}

// A link to the run's trace page (what the agent did, step by step), once per run.
let lastTrace = "";
function traceLink(runId) {
  if (!runId || runId === lastTrace) return;
  lastTrace = runId;
  const link = document.createElement("a");
  link.href = `/traces/${encodeURIComponent(runId)}`;
  link.textContent = `trace ${runId}`;
  line("trace", "").appendChild(link);
}

// Read a fetch() body as server-sent events.
async function readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      let data = "";
      for (const row of block.split("\n")) {
        if (row.startsWith("event: ")) kind = row.slice(7);
        else if (row.startsWith("data: ")) data += row.slice(6);
      }
      if (data) onEvent(kind, JSON.parse(data));
    }
  }
}

let following = null;
function follow() {
  if (following) return;
  following = new EventSource(`/v1/threads/${threadId}/events`);
  const kinds = ["token", "model", "approval_requested", "tool_refused", "approval_decided", "tool_result", "final", "error"];
  for (const kind of kinds) following.addEventListener(kind, (e) => onEvent(kind, JSON.parse(e.data)));
  following.addEventListener("status", (e) => {
    const data = JSON.parse(e.data);
    if (data.status === "awaiting_approval") return; // still waiting: keep the note
    if (data.status === "running") {
      statusLine.textContent = "A reviewer decided; the agent continues…";
      return;
    }
    following.close();
    following = null;
    onStatus(data);
  });
}

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ error: { message: response.statusText } }));
    const error = new Error(problem.error.message);
    error.code = problem.error.code;
    throw error;
  }
  return response;
}

async function send(text) {
  if (!threadId) {
    const created = await (await api("POST", "/v1/threads", { title: text.slice(0, 80) })).json();
    threadId = created.id;
    history.replaceState(null, "", `/chat?thread=${threadId}`);
  }
  line("you", text);
  setStatus("running");
  await readEvents(await api("POST", `/v1/threads/${threadId}/messages`, { content: text }));
}

async function loadHistory() {
  const thread = await (await api("GET", `/v1/threads/${threadId}`)).json();
  for (const m of thread.messages) {
    if (m.role === "user") line("you", m.content);
    else if (m.role === "assistant" && m.content) answer(m.content);
  }
  if (thread.last_run) onStatus({ ...thread.last_run, status: thread.status });
}

document.getElementById("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("message");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  try {
    await send(text);
  } catch (error) {
    if (error.code === "awaiting_approval") {
      // An earlier request waits for a reviewer: say so, and keep following the thread.
      line("agent", "Your earlier request is still waiting for a colleague's approval; I'll continue as soon as "
        + "they decide. Please send your new message once it is done.");
      onStatus({ status: "awaiting_approval" });
    } else {
      line("error", `Sorry, your message could not be sent: ${error.message}`);
      setStatus("error");
    }
  }
});

if (threadId) loadHistory().catch((error) => line("error", `error: ${error.message}`));
