// Live updates of the reviewer's pages (the inbox and an approval's own page): every few seconds
// ask /review/live for the status of the approvals shown; a card whose status changed — decided
// by someone else (API, CLI, another reviewer), then executed or failed — is fetched again and
// put in place, so the page tells the truth without a reload. Cards still pending keep what the
// reviewer typed. Plain JavaScript, no build step.
"use strict";

const POLL_MS = 2000;
const SETTLED = ["executed", "failed", "rejected", "expired"]; // nothing changes after these

function watchedCards() {
  return [...document.querySelectorAll("article.approval[data-approval]")].filter(
    (card) => !SETTLED.includes(card.dataset.status),
  );
}

async function fetchOk(url) {
  // A session that ended answers with a redirect to the login page: that is not an update.
  const response = await fetch(url, { headers: { Accept: "application/json, text/html" }, redirect: "error" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response;
}

async function replaceCard(card) {
  const params = new URLSearchParams({ detail: card.dataset.detail === "1" ? "true" : "false", back: card.dataset.back || "/review" });
  const response = await fetchOk(`/review/${encodeURIComponent(card.dataset.approval)}/card?${params}`);
  const holder = document.createElement("div");
  holder.innerHTML = await response.text();
  const fresh = holder.querySelector("article.approval");
  if (!fresh) return;
  fresh.classList.add("updated");
  card.replaceWith(fresh);
}

async function poll() {
  const cards = watchedCards();
  if (!cards.length) return; // every card shown has settled
  const query = new URLSearchParams(cards.map((card) => ["id", card.dataset.approval]));
  try {
    const { approvals } = await (await fetchOk(`/review/live?${query}`)).json();
    for (const state of approvals) {
      const card = cards.find((c) => c.dataset.approval === state.id);
      if (card && card.dataset.status !== state.status) await replaceCard(card);
    }
  } catch (error) {
    document.body.dataset.live = "stopped"; // the session ended or the server is gone: a reload tells
    return;
  }
  document.body.dataset.live = "on";
  setTimeout(poll, POLL_MS);
}

setTimeout(poll, POLL_MS);
