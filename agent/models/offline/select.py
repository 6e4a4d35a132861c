"""Which tool a request is for: BM25 over the tools' words, plus a few plain rules.

Each bound tool is indexed in two BM25 fields: its name words (weighted up: a ``verb_object``
name is the densest statement of purpose) and its description with its ``x-tiller.examples``. The user's words are the
query. The best tool is chosen only when it clears an absolute score and beats the runner-up by
a margin; the constants below were calibrated so that, leaving each example out of the index in
turn, the example still selects its own tool (:func:`examples_leave_one_out` re-checks this for
any tool set).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import bm25s
import numpy as np

from agent.models.offline.args import find_all
from agent.models.offline.fields import field_views
from agent.models.offline.text import name_words, stem, terms, words

MIN_SCORE = 0.6
"""Below this BM25 score no tool is a match: the words barely overlap any tool."""
MIN_MARGIN = 1.2
"""The best tool must score this many times the runner-up to be chosen."""
MIN_CORPUS = 8
"""Tool sets smaller than this are padded with empty documents for BM25 (see bm25_scores)."""
NAME_WEIGHT = 2.0
"""A word of the tool's name counts this much more than one of its description or examples."""

_QUERY_FIELDS = frozenset({"query", "question", "q", "search", "search_query", "text", "keywords"})
_ACTION_VERBS = frozenset(
    {
        "add", "apply", "approve", "archive", "assign", "block", "book", "cancel", "change", "charge", "close",
        "create", "delete", "disable", "edit", "enable", "escalate", "execute", "grant", "insert", "issue", "make",
        "move", "open", "order", "pay", "post", "put", "refund", "register", "reject", "remove", "rename", "reset",
        "return", "revoke", "run", "schedule", "send", "set", "ship", "start", "stop", "submit", "subscribe",
        "transfer", "unblock", "unsubscribe", "update", "upload", "write",
    }
)  # fmt: skip
_READ_VERBS = frozenset({"get", "list", "search", "find", "lookup", "look", "check", "show", "track", "read", "fetch"})


@dataclass(frozen=True)
class ToolInfo:
    """What the offline model knows about one bound tool."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    examples: tuple[str, ...] = ()
    lookup_first: str | None = None
    risk: str = ""

    @property
    def properties(self) -> Mapping[str, Any]:
        """The tool's argument schemas, by name."""
        return self.parameters.get("properties", {}) or {}

    @property
    def required(self) -> tuple[str, ...]:
        """The names of the arguments the tool requires."""
        return tuple(self.parameters.get("required", ()) or ())

    @property
    def has_side_effects(self) -> bool:
        """Declared risk when present, else guessed from the verb of the name: only a known
        action verb (``create_``, ``delete_``…) makes an undeclared tool an action here.

        This only steers which tool a request selects (a question goes to tools that read). It is
        not the safety rule: what may run is the runtime's policy, for which an undeclared tool is
        ``high_risk`` (tools.langchain_in.UNKNOWN_RISK) and waits for a reviewer.
        """
        if self.risk:
            return self.risk != "read"
        verb = self.name.split("_", 1)[0]
        return verb in _ACTION_VERBS and verb not in _READ_VERBS

    @property
    def query_field(self) -> str | None:
        """The free-text query argument if this is a search tool (its only required argument)."""
        for name in self.properties:
            prop = self.properties[name]
            if name in _QUERY_FIELDS and "pattern" not in prop and "enum" not in prop:
                others = [r for r in self.required if r != name]
                return None if others else name
        return None


def tool_infos(tools: Sequence[Mapping[str, Any]]) -> tuple[ToolInfo, ...]:
    """Bound tool dicts (``ToolSpec.model_schema()`` format, ``x-tiller`` optional) as ToolInfos."""
    infos = []
    for schema in tools:
        function = schema.get("function", {})
        extra = schema.get("x-tiller") or {}
        infos.append(
            ToolInfo(
                name=str(function.get("name", "")),
                description=str(function.get("description", "")),
                parameters=function.get("parameters") or {},
                examples=tuple(str(e) for e in extra.get("examples") or ()),
                lookup_first=extra.get("lookup_first"),
                risk=str(extra.get("risk") or ""),
            )
        )
    return tuple(infos)


_ADDRESS = re.compile(r"\S+@\S+|https?://\S+")


def _words(text: str) -> list[str]:
    # Ids, amounts and email addresses in examples ("T1000001") say nothing about the tool.
    return [t for t in terms(_ADDRESS.sub(" ", text)) if not any(c.isdigit() for c in t)]


def _fields(info: ToolInfo, skip_example: int | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    examples = [e for i, e in enumerate(info.examples) if i != skip_example]
    body = _words(info.description) + _words(" ".join(examples))
    return tuple(_words(name_words(info.name))) or ("_",), tuple(body) or ("_",)


@dataclass(frozen=True)
class _Index:
    retriever: bm25s.BM25
    vocabulary: frozenset[str]
    size: int

    def scores(self, query: list[str]) -> np.ndarray:
        known = [t for t in query if t in self.vocabulary]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known))


@lru_cache(maxsize=128)
def _index(documents: tuple[tuple[str, ...], ...]) -> _Index:
    retriever = bm25s.BM25()
    retriever.index([list(d) for d in documents], show_progress=False)
    return _Index(retriever, frozenset(t for d in documents for t in d), len(documents))


def bm25_scores(infos: Sequence[ToolInfo], text: str, skip: tuple[int, int] | None = None) -> list[float]:
    """Score of each tool for ``text``: ``NAME_WEIGHT`` × BM25 on names + BM25 on the rest.

    ``skip`` = (tool, example) leaves one example out of the index (for leave-one-out checks).
    """
    fields = [_fields(info, skip[1] if skip and skip[0] == i else None) for i, info in enumerate(infos)]
    # BM25's IDF needs a corpus: with one or two tools bound every shared word looks common and
    # even a perfect match scores under MIN_SCORE. Empty documents pad small tool sets to size.
    padding = [(("_",), ("_",))] * max(0, MIN_CORPUS - len(fields))
    query = _words(text)
    names = _index(tuple(f[0] for f in [*fields, *padding])).scores(query)
    bodies = _index(tuple(f[1] for f in [*fields, *padding])).scores(query)
    return [float(s) for s in (NAME_WEIGHT * names + bodies)[: len(fields)]]


@dataclass(frozen=True)
class Ranking:
    """The best tool for a text, with the evidence for it."""

    best: ToolInfo | None
    score: float
    runner_up: float

    @property
    def confident(self) -> bool:
        """Whether the best tool won clearly: a high enough score, far enough ahead of the next."""
        return self.best is not None and self.score >= MIN_SCORE and self.score >= MIN_MARGIN * self.runner_up


def rank(
    infos: Sequence[ToolInfo],
    text: str,
    allowed: Sequence[ToolInfo] | None = None,
    skip: tuple[int, int] | None = None,
) -> Ranking:
    """Rank the ``allowed`` tools (default: all) for ``text``; ties go to the tool bound first."""
    candidates = [i for i, info in enumerate(infos) if allowed is None or info in allowed]
    if not candidates:
        return Ranking(None, 0.0, 0.0)
    scores = bm25_scores(infos, text, skip)
    order = sorted(candidates, key=lambda i: (-scores[i], i))
    runner_up = scores[order[1]] if len(order) > 1 else 0.0
    return Ranking(infos[order[0]], scores[order[0]], runner_up)


IntentKind = Literal["tool", "knowledge", "multiple", "smalltalk", "unknown"]


@dataclass(frozen=True)
class Intent:
    """What the request asks for: one tool, a knowledge-base question, or something unhandled.

    ``confident`` is false when the choice is a fallback (a harmless lookup of an id the user
    typed, a knowledge-base search for an unclear question) or nothing matched at all.
    """

    kind: IntentKind
    tool: ToolInfo | None = None
    others: tuple[str, ...] = field(default=())
    confident: bool = True


_GREETING = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|how are you( today)?|thanks?( you)?( so much)?|thx|"
    r"ok(ay)?|no( thanks?)?|bye)\W*$",
    re.I,
)
_HOW_TO = re.compile(
    r"\b(how (do|can|should) (i|we)|how long|how much does|how many days|what (is|are) your|what's your|"
    r"do you|is it possible|am i allowed|policy|policies|faq)\b",
    re.I,
)
_QUESTION = re.compile(
    r"^\s*(what|what's|whats|where|where's|how|why|when|which|who|is|are|has|have|does|do|"
    r"did|can i|may i|could i|should i)\b",
    re.I,
)
_REQUEST = re.compile(
    r"\b(can you|could you|would you|will you|please|i want|i'd like|i would like|i need|"
    r"can i (get|have)|may i have)\b",
    re.I,
)
# Verbs that open a request to act ("change the address…"); a tool's own name words count too.
_OPENING_VERBS: tuple[str, ...] = ("add", "apply", "book", "cancel", "change", "close", "create", "delete")
_OPENING_VERBS += ("escalate", "exchange", "file", "fix", "give", "issue", "make", "move", "open", "process", "put")
_OPENING_VERBS += ("redirect", "refund", "remove", "replace", "reroute", "reset", "return", "send", "set", "ship")
_OPENING_VERBS += ("stop", "swap", "update")
_IMPERATIVES = frozenset(map(stem, _OPENING_VERBS))
_LEAD_INS = frozenset({"please", "also", "then", "and", "now", "just", "kindly", "ok", "okay", "so"})
_PERSONAL = re.compile(r"\b(my|mine|i (ordered|bought|paid|purchased))\b", re.I)
_CLAUSE_SPLIT = re.compile(r"\s*(?:[;.!?](?:\s+|$)|,?\s+(?:and then|and also|and|then|also|plus|as well as)\s+)", re.I)


def _asks_for(tool: ToolInfo, clause: str) -> bool:
    """Is ``clause`` a request for the action, not a description ("my old card was cancelled")?"""
    if _REQUEST.search(clause):
        return True
    first = stem(next((w for w in words(clause) if w not in _LEAD_INS), ""))
    return first in _IMPERATIVES or first in {stem(w) for w in name_words(tool.name).split()}


def _action_intents(infos: Sequence[ToolInfo], text: str, skip: tuple[int, int] | None) -> list[ToolInfo]:
    """Distinct side-effecting tools that separate clauses of ``text`` ask for."""
    chosen: list[ToolInfo] = []
    for clause in _CLAUSE_SPLIT.split(text):
        ranking = rank(infos, clause, skip=skip)
        best = ranking.best
        if ranking.confident and best and best.has_side_effects and best not in chosen and _asks_for(best, clause):
            chosen.append(best)
    lookups = {c.lookup_first for c in chosen}
    return [c for c in chosen if c.name not in lookups]


def is_smalltalk(text: str) -> bool:
    """Greetings, thanks and the like: no request at all."""
    return bool(_GREETING.match(text))


def ids_in_text(infos: Sequence[ToolInfo], text: str) -> dict[str, bool | None]:
    """Per tool, do the ids in ``text`` fit it? Identifiers are ``*_id`` pattern fields and emails.

    ``False``: a required identifier is missing; ``True``: one of its identifiers is present;
    ``None``: neither (the tool takes no identifier, or only optional ones not in the text).
    """
    state: dict[str, bool | None] = {}
    for info in infos:
        views = [v for v in field_views(info.parameters) if (v.is_identifier or v.kind == "email") and v.pattern]
        found = {v.name for v in views if v.pattern and find_all(v.pattern, text)}
        if any(v.required and v.name not in found for v in views):
            state[info.name] = False
        else:
            state[info.name] = True if found else None
    return state


def _asking(text: str) -> bool:
    return bool(_QUESTION.search(text) or text.rstrip().endswith("?")) and not _REQUEST.search(text)


def _knowledge_intent(
    infos: Sequence[ToolInfo], text: str, search: ToolInfo, skip: tuple[int, int] | None
) -> Intent | None:
    """A general question for the knowledge base (callers made sure the text holds no id)."""
    overall = rank(infos, text, skip=skip)
    if overall.best == search and overall.confident:
        return Intent("knowledge", search)
    how_to = bool(_HOW_TO.search(text))
    if how_to or (_asking(text) and not _PERSONAL.search(text)):
        return Intent("knowledge", search, confident=how_to or overall.best == search)
    return None


def _tool_intent(
    infos: Sequence[ToolInfo], text: str, ids: Mapping[str, bool | None], skip: tuple[int, int] | None
) -> Intent:
    has_ids = any(ids.values())
    # An id in the text means a record: tools that need another id, and the knowledge base, are
    # out. A question only reads.
    allowed = [i for i in infos if not (has_ids and (ids.get(i.name) is False or i.query_field))]
    allowed = [i for i in allowed if not (_asking(text) and i.has_side_effects)]
    ranking = rank(infos, text, allowed, skip)
    best = ranking.best
    # With no id, a statement ("my jacket doesn't bead water anymore") is no request to act.
    acts = best is not None and (has_ids or not best.has_side_effects or _asks_for(best, text))
    if ranking.confident and best is not None and acts:
        return Intent("knowledge" if best.query_field else "tool", best)
    # Unsure, but the user typed an id: looking it up is harmless and usually what was meant.
    lookups = [i for i in allowed if ids.get(i.name) and not i.has_side_effects and not i.query_field]
    if lookups:
        return Intent("tool", rank(infos, text, lookups, skip).best, confident=False)
    return Intent("unknown", confident=False)


def choose_intent(infos: Sequence[ToolInfo], text: str, skip: tuple[int, int] | None = None) -> Intent:
    """Map one user request to an intent.

    Questions ("where is…", "has my order…") only go to read tools; general questions ("how
    long…", "what is your policy…") go to the knowledge-base search tool, and so do problem
    descriptions nothing else fits ("the lid arrived cracked"). When the text holds ids, tools
    needing an id it lacks are out. ``skip`` leaves one example out (see
    :func:`examples_leave_one_out`).
    """
    if is_smalltalk(text):
        return Intent("smalltalk")
    actions = _action_intents(infos, text, skip)
    if len(actions) > 1:
        return Intent("multiple", others=tuple(a.name for a in actions), confident=False)
    ids = ids_in_text(infos, text)
    search = next((i for i in infos if i.query_field), None)
    if search is not None and not any(ids.values()):
        knowledge = _knowledge_intent(infos, text, search, skip)
        if knowledge is not None:
            return knowledge
    intent = _tool_intent(infos, text, ids, skip)
    if intent.kind == "unknown" and search is not None and not any(ids.values()) and len(_words(text)) >= 2:
        return Intent("knowledge", search, confident=False)
    return intent


@dataclass(frozen=True)
class ExampleMiss:
    """An example that, left out of the index, does not select its own tool."""

    tool: str
    example: str
    selected: str | None
    score: float
    runner_up: float
    question_to_act: bool = False
    """The example asks a question of a side-effecting tool; questions only read."""

    @property
    def advice(self) -> str:
        """What to change in the example."""
        if self.question_to_act:
            return 'a question only reads: phrase it as a request ("Please …", or start with the verb)'
        if self.selected is None:
            return "nothing matched it clearly: use words of the tool's name and description, and an id"
        return f"{self.selected} matched it better: use words only {self.tool} is about"


def examples_leave_one_out(tools: Sequence[Mapping[str, Any]]) -> list[ExampleMiss]:
    """Check the tools' examples: each one, left out of the index, should still select its tool.

    This runs the whole selection (BM25 and the rules of :func:`choose_intent`). Tool authors
    can assert it returns nothing, to keep their examples distinctive enough for the offline
    model; it is also how ``MIN_SCORE`` and ``MIN_MARGIN`` were calibrated.
    """
    infos = tool_infos(tools)
    misses = []
    for t, info in enumerate(infos):
        for e, example in enumerate(info.examples):
            intent = choose_intent(infos, example, skip=(t, e))
            if intent.tool != info:
                ranking = rank(infos, example, skip=(t, e))
                chosen = intent.tool.name if intent.tool else None
                asks = info.has_side_effects and _asking(example)
                misses.append(ExampleMiss(info.name, example, chosen, ranking.score, ranking.runner_up, asks))
    return misses
