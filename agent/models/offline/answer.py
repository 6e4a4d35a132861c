"""What the offline model writes: answers from tool results, questions, and honest refusals.

Every fact in an answer comes from a tool result envelope (see :mod:`tools.envelope`): the
result's ``summary`` when the tool wrote one, otherwise its scalar fields; knowledge-base
passages are quoted sentence by sentence with ``[doc#chunk]`` citations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from agent.models.offline.conversation import CallRecord
from agent.models.offline.fields import FieldView, pattern_example
from agent.models.offline.text import STOPWORDS, name_words, sentences, terms, words

_MAX_FIELDS = 8
NOT_FOUND = "I could not find a policy about"
"""How a knowledge answer that found nothing relevant starts ("… about "<topic>" …")."""
_ERROR_TEXT = {
    "rejected": "I'm sorry, I did not {action}: a reviewer declined it.",
    "denied": "I can't {action}: it is not allowed by policy. {message}",
    "not_found": "I couldn't {action}: {message}",
    "business_rule": "I can't {action}: {message}",
    "invalid_arguments": "I couldn't {action} because some details were missing or invalid: {message}",
    "unavailable": "I couldn't {action} right now because the system is unavailable: {message} Please try again later.",
    "timeout": "I couldn't {action} right now because the system took too long: {message} Please try again later.",
    "limit": "I stopped before I could {action}: {message}",
}


def action_phrase(tool: str) -> str:
    """``close_ticket`` → ``close the ticket``; ``search_knowledge_base`` → ``search the knowledge base``."""
    verb, _, rest = name_words(tool).partition(" ")
    return f"{verb} the {rest}" if rest else verb


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text if not text or text[-1] in ".!?" else text + "."


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (str, int, float)) and str(value) != "":
        return str(value)
    if isinstance(value, list):
        if value and all(isinstance(v, (str, int, float)) for v in value):
            return ", ".join(str(v) for v in value[:5]) + (" …" if len(value) > 5 else "")
        return f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}"
    return None


def render_data(tool: str, data: Mapping[str, Any]) -> str:
    """A result in words: its ``summary`` if present, else its scalar fields."""
    summary = data.get("summary")
    if isinstance(summary, str) and summary.strip():
        return _sentence(summary)
    shown = [(k, _scalar(v)) for k, v in data.items()]
    parts = [f"{k.replace('_', ' ')}: {v}" for k, v in shown if v is not None][:_MAX_FIELDS]
    if not parts:
        return f"Done: {action_phrase(tool)} returned no details."
    return f"Result of {name_words(tool)} — " + "; ".join(parts) + "."


def explain_error(record: CallRecord) -> str:
    """An error envelope explained plainly, with the tool's own message."""
    error = (record.result or {}).get("error") or {}
    kind = str(error.get("kind", "tool_error"))
    message = _sentence(str(error.get("message", "")).strip() or "no details were given")
    template = _ERROR_TEXT.get(kind, "Something went wrong when trying to {action}: {message}")
    text = template.format(action=action_phrase(record.name), message=message).strip()
    if kind == "rejected":  # the runtime's words are for the model; the reviewer's, for the customer
        told = str(error.get("customer_message") or "").strip()
        text += f" {_sentence(told)}" if told else " If you like, I can open a ticket so a colleague follows up."
    return text


def describe(record: CallRecord, query: str = "") -> str:
    """One tool call's outcome in words: its result, its error, and any note."""
    if record.result is None:
        return f"I asked to {action_phrase(record.name)} but got no result."
    if not record.ok:
        text = explain_error(record)
    elif isinstance(record.data.get("passages"), list):
        # The query the tool searched: a follow-up ("and for tents?") comes back standalone.
        searched = (record.data.get("retrieval") or {}).get("query")
        text = knowledge_answer(record.data["passages"], searched if isinstance(searched, str) else query)
    else:
        text = render_data(record.name, record.data)
    note = record.result.get("note")
    return f"{text} Note: {_sentence(str(note))}" if note else text


def _citation(passage: Mapping[str, Any]) -> str:
    doc, chunk = str(passage.get("doc_id", "")), str(passage.get("chunk_id", ""))
    if not chunk or "#" in chunk or (doc and chunk.startswith(doc)):
        return f"[{chunk or doc}]"
    return f"[{doc}#{chunk}]" if doc else f"[{chunk}]"


_QUESTION_WORDS = frozenset({"what", "how", "when", "where", "why", "which", "who", "whom"})
# A page describing itself ("This page covers what can be returned…") is never an answer.
_ABOUT_THE_PAGE = re.compile(
    r"^(this (page|policy|section|guide|document)\b.*\b(covers|explains|describes|lists)\b|see our\b|need help\b)",
    re.IGNORECASE,
)


class _Window(NamedTuple):
    """1-2 consecutive sentences of a passage, and what the answer needs to know of the passage."""

    rank: int
    position: int
    lines: list[str]
    citation: str
    heading: set[str]
    """Terms of the passage's title: a sentence need not repeat what its heading already says."""
    passage: set[str]
    """Terms of the passage's title and text."""


def _windows(passages: Sequence[Any]) -> list[_Window]:
    """The candidate windows of the top passages, best passage first."""
    found = []
    for rank, passage in enumerate(p for p in passages[:3] if isinstance(p, Mapping)):
        text, title = str(passage.get("text", "")), str(passage.get("title", ""))
        heading = set(terms(title))
        all_terms = heading | set(terms(text))
        # Chunks can start mid-sentence, and headings are no answer.
        lines = [x for x in sentences(text) if len(x.split()) >= 4]
        lines = [x for x in lines if x[:1].isupper() or x[:1].isdigit()]
        for position in range(max(1, len(lines) - 1)):
            if lines and not _ABOUT_THE_PAGE.match(lines[position]):
                pair = lines[position : position + 2]
                found.append(_Window(rank, position, pair, _citation(passage), heading, all_terms))
    return found


def knowledge_answer(passages: Sequence[Any], query: str) -> str:
    """The two consecutive sentences of the best passage that match the question, cited.

    The best passage is the first (the retriever reranked them) that is about the question —
    its title and text hold at least half of the question's words — and has a matching pair;
    the next ones are read only when it has none. A pair rather than one sentence, because the
    sentence naming the topic ("… see our electronics returns policy") often follows the one
    with the facts ("15 days from delivery"). A pair must show the question's words that the
    passage's title does not already state ("return policy for tents" under "Returns policy ›
    Return window": none, as no sentence there mentions tents), two of them when there are
    three or more. Shared words weigh more when fewer candidates have them; ties go to pairs
    stating a number. A sentence about the page itself never opens a pair. When nothing
    matches, the answer says so, naming the question's topic.
    """
    wanted = set(terms(query)) - _QUESTION_WORDS
    windows = [w for w in _windows(passages) if 2 * len(wanted & w.passage) >= len(wanted)]
    shared = [set(terms(" ".join(w.lines))) & (wanted - w.heading) for w in windows]
    frequency = {t: sum(t in found for found in shared) for t in wanted}
    scored = []
    for window, found in zip(windows, shared, strict=True):
        still_open = (wanted - window.heading) & window.passage
        needed = 2 if len(still_open) >= 3 else min(1, len(still_open))
        if len(found) >= needed:
            weight = sum(math.log(1 + len(windows) / frequency[t]) for t in found)
            has_fact = any(c.isdigit() for c in " ".join(window.lines))
            scored.append((window.rank, -round(weight, 6), not has_fact, window.position, window))
    if not scored:
        return not_found(query)
    best: _Window = min(scored)[-1]
    return " ".join(_sentence(line) for line in best.lines) + f" {best.citation}"


def not_found(query: str) -> str:
    """The honest answer when no passage matches: what was not found, in the question's words."""
    topic = " ".join(w for w in words(query) if w not in STOPWORDS and w not in _QUESTION_WORDS)
    return f'{NOT_FOUND} "{topic or query.strip()}" in the knowledge base.'


def is_not_found(text: str) -> bool:
    """Whether ``text`` is :func:`not_found`'s answer."""
    return text.startswith(NOT_FOUND)


def answer_from_results(records: Sequence[CallRecord], focus: str, query: str) -> str:
    """The final answer of a turn: the focus tool's outcome (an earlier failure if it never ran)."""
    mine = [r for r in records if r.name == focus]
    if mine:
        return describe(mine[-1], query)
    failed = [r for r in records if r.result is not None and not r.ok]
    if failed:
        return describe(failed[-1], query)
    return " ".join(describe(r, query) for r in records) or "I have nothing to report yet."


def stopped_summary(records: Sequence[CallRecord], query: str) -> str:
    """Tools-off answer: what the turn's tool calls found before the run had to stop."""
    done = [r for r in records if r.result is not None]
    if not done:
        return "I had to stop before finishing your request, and I have no results to report yet."
    lines = [describe(r, query) for r in done]
    return "I had to stop before finishing your request. Here is what I found so far:\n" + "\n".join(
        f"- {line}" for line in lines
    )


def _example(view: FieldView) -> str | None:
    if view.examples:
        return str(view.examples[0])
    return pattern_example(view.pattern) if view.kind == "pattern" and view.pattern else None


def _question(view: FieldView) -> str:
    example = _example(view)
    hint = f", e.g. {example}" if example else ""
    if view.kind == "pattern" and view.is_identifier:
        return f"Which {view.label} do you mean? Please give the {view.label} number{hint}."
    if view.kind == "enum":
        options = ", ".join(str(v).replace("_", " ") for v in view.enum)
        return f"What is the {view.label}? Please choose one of: {options}."
    if view.kind in ("number", "integer"):
        return f"What {view.label} should I use? Please give it as a number{hint or ', e.g. 20.00'}."
    if view.kind == "email":
        return f"What is the {view.label}? Please give an email address{hint or ', e.g. name@example.com'}."
    if view.kind == "date":
        return f"What is the {view.label}? Please give a date{hint or ', e.g. 2024-01-31'}."
    return f'What should the {view.label} be{hint}? You can write it as "{view.label}: …".'


def _one_of_question(views: Sequence[FieldView]) -> str:
    options = []
    for view in views:
        example = _example(view)
        noun = "email address" if view.kind == "email" else f"{view.label} number"
        options.append(f"the {noun}" + (f" (e.g. {example})" if example else ""))
    subject = next((v.label for v in views if v.is_identifier), "record")
    return f"Which {subject} do you mean? Please give {' or '.join(options)}."


def clarifying_question(
    missing: Sequence[FieldView], ambiguous: Mapping[str, list[str]], one_of: Sequence[FieldView] = ()
) -> str:
    """Ask for what is missing or ambiguous, naming each field with an example."""
    parts = [
        f"You mentioned more than one {name.removesuffix('_id').replace('_', ' ')} ({', '.join(values)}); "
        "I can handle one at a time. Which one do you mean?"
        for name, values in ambiguous.items()
    ]
    parts += [_question(view) for view in missing]
    if one_of:
        parts.append(_one_of_question(one_of))
    return " ".join(parts)


def cannot_help(ticket_tool: str | None, why: str = "") -> str:
    """The honest refusal, pointing at a human (via a ticket when a ticket tool is bound)."""
    lead = f"I can't help with that request on my own{': ' + why if why else ''}."
    if ticket_tool:
        return f"{lead} I can create a support ticket for a human agent; just say yes."
    return f"{lead} Please contact a human agent."


def smalltalk_reply(text: str, tool_names: Sequence[str]) -> str:
    """Greetings get a short list of what the model can do; thanks get a short reply."""
    lowered = text.lower()
    if "thank" in lowered or "thx" in lowered:
        return "You're welcome!"
    if lowered.strip(" .!") in ("ok", "okay", "no", "no thanks", "no thank you", "bye"):
        return "All right. Let me know if there is anything else."
    if not tool_names:
        return "Hello!"
    abilities = ", ".join(name_words(n) for n in tool_names[:6])
    return f"Hello! I can help with: {abilities}. What would you like to do?"
