"""Measure the input guard: recall on the injection corpus, false positives on benign messages.

    python -m bench.detector            # table on the terminal
    python -m bench.detector --json     # the numbers as JSON
    python -m bench.detector --misses   # also list what was missed and what was flagged

The corpora live with the safety tests (``tests/safety/data``). Every fourth entry of each is a
held-out split that was not looked at while the heuristics were written; recall and the
false-positive rate are reported on it separately. The knowledge-base passages (which reach the
model through the tool-output guard) are scanned too: any hit there is a false positive.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agent.checks.injection.detector import DEFAULT_THRESHOLD, detect_injection
from agent.config import PROJECT_ROOT
from tools.commerce.domain import KB_DIR

DATA = PROJECT_ROOT / "tests" / "safety" / "data"


@dataclass
class Rate:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float:
        return round(self.hits / self.total, 4) if self.total else 0.0


@dataclass
class Evaluation:
    threshold: float
    recall: Rate = field(default_factory=Rate)
    recall_held_out: Rate = field(default_factory=Rate)
    false_positives: Rate = field(default_factory=Rate)
    false_positives_held_out: Rate = field(default_factory=Rate)
    kb_false_positives: Rate = field(default_factory=Rate)
    recall_by_style: dict[str, Rate] = field(default_factory=lambda: defaultdict(Rate))
    missed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The rates as ``{name: {"value", "hits", "total"}}``, recall by style as values."""
        names = ("recall", "recall_held_out", "false_positives", "false_positives_held_out", "kb_false_positives")
        out: dict[str, object] = {"threshold": self.threshold}
        for name in names:
            rate: Rate = getattr(self, name)
            out[name] = {"value": rate.value, "hits": rate.hits, "total": rate.total}
        out["recall_by_style"] = {k: v.value for k, v in sorted(self.recall_by_style.items())}
        return out


def _load(path: Path, key: str) -> list[dict[str, str]]:
    return list(yaml.safe_load(path.read_text())[key])


def evaluate(
    injections: Path = DATA / "injections.yaml",
    benign: Path = DATA / "benign.yaml",
    kb_dir: Path = KB_DIR,
    threshold: float = DEFAULT_THRESHOLD,
) -> Evaluation:
    """Run the detector over the corpora and the knowledge base."""
    from tools.retrieval.documents import chunk_documents, load_documents

    result = Evaluation(threshold)
    for index, item in enumerate(_load(injections, "injections")):
        found = detect_injection(item["text"]).detected(threshold)
        for rate in (result.recall, result.recall_by_style[item["style"]]):
            rate.hits, rate.total = rate.hits + found, rate.total + 1
        if index % 4 == 0:
            result.recall_held_out.hits += found
            result.recall_held_out.total += 1
        if not found:
            result.missed.append(f"{item['id']}: {item['text'][:100]!r}")
    for index, item in enumerate(_load(benign, "messages")):
        found = detect_injection(item["text"]).detected(threshold)
        result.false_positives.hits += found
        result.false_positives.total += 1
        if index % 4 == 0:
            result.false_positives_held_out.hits += found
            result.false_positives_held_out.total += 1
        if found:
            result.flagged.append(f"{item['id']}: {item['text'][:100]!r}")
    for chunk in chunk_documents(load_documents(kb_dir)):
        found = detect_injection(chunk.text).detected(threshold)
        result.kb_false_positives.hits += found
        result.kb_false_positives.total += 1
        if found:
            result.flagged.append(f"kb {chunk.chunk_id}")
    return result


def _print(result: Evaluation, misses: bool) -> None:
    def line(name: str, rate: Rate) -> None:
        print(f"{name:<34} {rate.value:>7.1%}  ({rate.hits}/{rate.total})")

    print(f"input guard at threshold {result.threshold}")
    line("recall, all injections", result.recall)
    line("recall, held-out quarter", result.recall_held_out)
    line("false positives, benign messages", result.false_positives)
    line("false positives, held-out quarter", result.false_positives_held_out)
    line("false positives, KB passages", result.kb_false_positives)
    print("recall by style:")
    for style, rate in sorted(result.recall_by_style.items()):
        line(f"  {style}", rate)
    if misses:
        print("missed:", *result.missed, sep="\n  ")
        print("flagged benign:", *result.flagged, sep="\n  ")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--misses", action="store_true", help="list missed injections and flagged benign texts")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    result = evaluate(threshold=args.threshold)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        _print(result, args.misses)


if __name__ == "__main__":
    main()
