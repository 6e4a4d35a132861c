"""Measure neutralisation: does the whole instruction go, and does the document around it stay?

    python -m bench.neutralization

On AgentDojo's attacks (``tests/safety/data/external/agentdojo``), each planted in a suite
document whose clean version is among the collection's benign texts: a sentence of an attack is
the document's *own* when the clean documents contain it, *injected* otherwise (sentences of
four words or more). For every attack the detector flags, the tool-output guard's neutraliser
runs and the table counts the attacks where any injected sentence survived, those replaced
whole, and the own sentences kept. AgentDojo is on the tuning side of the split, so this shows
the mechanism works as designed, not how it generalises.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass

import yaml

from agent.checks.injection.detector import DEFAULT_THRESHOLD
from agent.checks.injection.extent import units
from agent.checks.injection.neutralize import MARKER, Detector, neutralize
from bench.detector import EXTERNAL

_MIN_WORDS = 4


@dataclass
class Tally:
    neutralised: int = 0
    goal_survived: int = 0
    replaced_whole: int = 0
    own_kept: int = 0
    own_total: int = 0


def _flat(text: str) -> str:
    return " ".join(text.split())


def _sentences(text: str) -> list[str]:
    return [_flat(text[u.start : u.end]) for u in units(text) if len(text[u.start : u.end].split()) >= _MIN_WORDS]


def measure(threshold: float = DEFAULT_THRESHOLD) -> dict[str, Tally]:
    """Per AgentDojo attack style, what neutralisation removed and kept."""
    data = yaml.safe_load((EXTERNAL / "agentdojo" / "corpus.yaml").read_text())
    clean = _flat(" ".join(b["text"] for b in data["benign"]))
    detector = Detector(threshold)
    out: dict[str, Tally] = defaultdict(Tally)
    for attack in data["attacks"]:
        cleaned, report = neutralize(attack["text"], detector)
        if not report.detected(threshold):
            continue
        tally, shown = out[attack["style"]], _flat(cleaned)
        sentences = _sentences(attack["text"])
        own = [s for s in sentences if s in clean]
        tally.neutralised += 1
        tally.goal_survived += any(s in shown for s in sentences if s not in clean)
        tally.replaced_whole += cleaned.strip() == MARKER
        tally.own_kept += sum(s in shown for s in own)
        tally.own_total += len(own)
    return dict(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    print("| AgentDojo attack | neutralised | an injected sentence survived | replaced whole | own sentences kept |")
    print("|---|---|---|---|---|")
    for style, t in sorted(measure(args.threshold).items()):
        print(f"| {style} | {t.neutralised} | {t.goal_survived} | {t.replaced_whole} | {t.own_kept}/{t.own_total} |")


if __name__ == "__main__":
    main()
