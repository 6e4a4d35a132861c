"""Extractors that build their texts with the source package's own code (AgentDojo, garak).

Their attacks are templates filled by the package at run time, so the faithful way to get the
texts is to run that code: these functions need ``agentdojo==0.1.35`` / ``garak==0.17.1``
installed (a throwaway virtualenv; see ``python -m bench.corpora --help``). Nothing here calls a
model or the network.
"""

from __future__ import annotations

import random
from typing import Any

Entry = dict[str, str]
_SUITES = "v1.2.2"
_AGENTDOJO_ATTACKS = ("important_instructions", "tool_knowledge", "ignore_previous", "system_message", "injecagent")
_AGENTDOJO_ATTACKS += ("direct",)
_MIN_BENIGN_CHARS = 40


def string_leaves(value: Any) -> list[str]:
    """Every string leaf of a JSON-like value, in document order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in string_leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in string_leaves(v)]
    return []


class _Pipeline:
    """The attacks read the target model's name from the pipeline; no model is ever called."""

    name = "gpt-4o-2024-05-13"


def agentdojo() -> tuple[list[Entry], list[Entry]]:
    """Every attack x injection task of every suite, planted in the document that holds its vector."""
    from agentdojo.attacks.attack_registry import load_attack
    from agentdojo.task_suite.load_suites import get_suites

    attacks: list[Entry] = []
    benign: dict[str, Entry] = {}
    for suite_name, suite in sorted(get_suites(_SUITES).items()):
        user_task = suite.user_tasks[sorted(suite.user_tasks)[0]]
        default = string_leaves(suite.load_and_inject_default_environment({}).model_dump(mode="json"))
        for attack_name in _AGENTDOJO_ATTACKS:
            attack = load_attack(attack_name, suite, _Pipeline())
            for task_id in sorted(suite.injection_tasks):
                vectors = attack.attack(user_task, suite.injection_tasks[task_id])
                vector, text = sorted(vectors.items())[0]
                env = suite.load_and_inject_default_environment({vector: text}).model_dump(mode="json")
                # The suite's YAML reshapes the text (indentation, blank lines): take the document that changed.
                planted = next(new for new, old in zip(string_leaves(env), default, strict=True) if new != old)
                attacks.append({"id": f"{suite_name}-{task_id}-{attack_name}", "style": attack_name, "text": planted})
        for text in default:
            if len(text) >= _MIN_BENIGN_CHARS and text not in benign:
                entry_id = f"{suite_name}-doc-{len(benign):03d}"
                benign[text] = {"id": entry_id, "style": f"{suite_name}_document", "text": text}
    return attacks, list(benign.values())


_GARAK_LATENT = (
    "LatentInjectionReport",
    "LatentInjectionResume",
    "LatentInjectionFactSnippetEiffel",
    "LatentInjectionFactSnippetLegal",
    "LatentInjectionTranslationEnFr",
    "LatentInjectionTranslationEnZh",
    "LatentJailbreak",
    "LatentWhois",
    "LatentWhoisSnippet",
)
_GARAK_PROMPTINJECT = ("HijackHateHumans", "HijackKillHumans", "HijackLongPrompt")
_PER_PROBE = 25


def _without_user_instruction(prompt: str, top_instructions: list[str]) -> str:
    """A latent-injection prompt minus the user's own request: the document the agent reads."""
    for top in sorted(top_instructions, key=len, reverse=True):
        if top and prompt.startswith(top):
            return prompt[len(top) :].strip()
    return prompt.strip()


def garak() -> tuple[list[Entry], list[Entry]]:
    """A seeded sample of each latentinjection and promptinject probe's prompts (no benign texts)."""
    random.seed(16)  # FactSnippet probes draw their contexts with the global ``random``
    from garak import _config

    _config.load_base_config()
    import garak.probes.latentinjection as latent
    import garak.probes.promptinject as promptinject

    attacks: list[Entry] = []
    for module, names in ((latent, _GARAK_LATENT), (promptinject, _GARAK_PROMPTINJECT)):
        for name in names:
            probe = getattr(module, name)()
            tops = list(getattr(probe, "top_instructions", []))
            texts = sorted({_without_user_instruction(str(p), tops) for p in _prompts(probe)})
            style = f"{module.__name__.rsplit('.', 1)[1]}.{name}"
            for index, text in enumerate(random.Random(f"{name}-16").sample(texts, min(_PER_PROBE, len(texts)))):
                attacks.append({"id": f"{name}-{index:02d}", "style": style, "text": text})
    return attacks, []


def _prompts(probe: Any) -> list[str]:
    """A probe's prompts: plain strings in older garak, ``Message``/``Conversation`` objects in newer."""
    out = []
    for prompt in probe.prompts:
        turns = getattr(prompt, "turns", None)
        content = turns[-1].content if turns else prompt
        out.append(getattr(content, "text", content))
    return out
