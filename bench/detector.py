"""Measure the injection detector: recall on attacks, false positives on benign text, by source and style.

    python -m bench.detector                    # the tables on the terminal (Markdown)
    python -m bench.detector --json             # the numbers as JSON
    python -m bench.detector --compare old.json # each number as before → after (old.json: an earlier --json)
    python -m bench.detector --misses           # also list the tuning side's misses and false positives
    python -m bench.detector --classifier mypkg.guards:score   # with a classifier plugged in
    python -m bench.detector --side held_apart --classifier-alone --cache /tmp/scores.json \\
        --classifier agent.checks.injection.classifiers:nanoguard   # one side, the model by itself

Sources: the project's own corpus (``tests/safety/data``: injections, benign support messages and
the knowledge-base passages) and the public collections in ``tests/safety/data/external`` (see
its README and :mod:`bench.corpora`). Each source is on one side of a split fixed before tuning:
``tuning`` (read while the signals were written) or ``held_apart`` (only measured). Held-apart
misses are printed only with ``--held-apart-misses``, which is for reading a published result,
not for writing patterns. A held-apart text equal to a tuning text is dropped (and counted).
Every fourth entry of the project's own corpora is its older held-out quarter, still reported.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.checks.injection.detector import DEFAULT_THRESHOLD, InjectionClassifier, detect_injection
from agent.config import PROJECT_ROOT
from bench.report import machine
from tools.commerce.domain import KB_DIR

# libyaml's loader when present: the pure-Python one spends seconds on the external corpora.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DATA = PROJECT_ROOT / "tests" / "safety" / "data"
EXTERNAL = DATA / "external"
SIDES = ("tuning", "held_apart")


@dataclass
class Rate:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float:
        return round(self.hits / self.total, 4) if self.total else 0.0

    def add(self, hit: bool) -> None:
        self.hits, self.total = self.hits + hit, self.total + 1

    def as_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "hits": self.hits, "total": self.total}


@dataclass
class Collection:
    """One source measured: recall on its attacks and false positives on its benign texts."""

    source: str
    side: str
    package: str
    recall: Rate = field(default_factory=Rate)
    false_positives: Rate = field(default_factory=Rate)
    recall_by_style: dict[str, Rate] = field(default_factory=lambda: defaultdict(Rate))
    false_positives_by_style: dict[str, Rate] = field(default_factory=lambda: defaultdict(Rate))
    missed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    dropped: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "side": self.side,
            "package": self.package,
            "recall": self.recall.as_dict(),
            "false_positives": self.false_positives.as_dict(),
            "recall_by_style": {k: v.as_dict() for k, v in sorted(self.recall_by_style.items())},
            "false_positives_by_style": {k: v.as_dict() for k, v in sorted(self.false_positives_by_style.items())},
            "dropped_as_tuning_duplicates": self.dropped,
        }


@dataclass
class Evaluation:
    threshold: float
    classifier: str | None = None
    collections: dict[str, Collection] = field(default_factory=dict)
    recall_held_out: Rate = field(default_factory=Rate)
    false_positives_held_out: Rate = field(default_factory=Rate)

    def side(self, side: str) -> Collection:
        """All the collections of one side added up."""
        total = Collection(side, side, "")
        for item in self.collections.values():
            if item.side == side:
                for mine, theirs in ((total.recall, item.recall), (total.false_positives, item.false_positives)):
                    mine.hits, mine.total = mine.hits + theirs.hits, mine.total + theirs.total
                total.missed += item.missed
                total.flagged += item.flagged
        return total

    def as_dict(self) -> dict[str, object]:
        sides = {
            side: {
                "recall": self.side(side).recall.as_dict(),
                "false_positives": self.side(side).false_positives.as_dict(),
            }
            for side in SIDES
        }
        return {
            "threshold": self.threshold,
            "classifier": self.classifier,
            "sides": sides,
            "collections": {name: c.as_dict() for name, c in self.collections.items()},
            "own_recall_held_out_quarter": self.recall_held_out.as_dict(),
            "own_false_positives_held_out_quarter": self.false_positives_held_out.as_dict(),
        }


@dataclass(frozen=True)
class Text:
    id: str
    style: str
    text: str


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def _own(kb_dir: Path) -> tuple[list[Text], list[Text]]:
    from tools.retrieval.documents import chunk_documents, load_documents

    injections = yaml.load((DATA / "injections.yaml").read_text(), Loader=_LOADER)["injections"]
    benign = yaml.load((DATA / "benign.yaml").read_text(), Loader=_LOADER)["messages"]
    attacks = [Text(i["id"], i["style"], i["text"]) for i in injections]
    ok = [Text(m["id"], "support_message", m["text"]) for m in benign]
    ok += [Text(f"kb {c.chunk_id}", "kb_passage", c.text) for c in chunk_documents(load_documents(kb_dir))]
    return attacks, ok


def _external(folder: Path) -> Iterator[tuple[dict[str, str], list[Text], list[Text]]]:
    for path in sorted(folder.glob("*/corpus.yaml")):
        data = yaml.load(path.read_text(), Loader=_LOADER)
        attacks = [Text(e["id"], e["style"], e["text"]) for e in data["attacks"]]
        benign = [Text(e["id"], e["style"], e["text"]) for e in data["benign"]]
        yield data, attacks, benign


def _measure(item: Collection, attacks: list[Text], benign: list[Text], score: Detect) -> tuple[list[bool], list[bool]]:
    """Score every text into ``item``; the verdicts, in order, for the attacks and the benign texts."""
    caught = [score(text.text) for text in attacks]
    for text, found in zip(attacks, caught, strict=True):
        item.recall.add(found)
        item.recall_by_style[text.style].add(found)
        if not found:
            item.missed.append(f"{item.source} {text.id}: {text.text[:100]!r}")
    flagged = [score(text.text) for text in benign]
    for text, found in zip(benign, flagged, strict=True):
        item.false_positives.add(found)
        item.false_positives_by_style[text.style].add(found)
        if found:
            item.flagged.append(f"{item.source} {text.id}: {text.text[:100]!r}")
    return caught, flagged


class Detect:
    """The verdict the guards act on: the heuristic score (and a classifier's, if any) ≥ threshold;
    with ``alone`` the classifier's score only, to measure the model by itself."""

    def __init__(self, threshold: float, classifier: InjectionClassifier | None, alone: bool = False) -> None:
        self.threshold, self.classifier, self.alone = threshold, classifier, alone

    def __call__(self, text: str) -> bool:
        if self.alone and self.classifier is not None:
            return self.classifier(text) >= self.threshold
        return detect_injection(text, self.classifier).detected(self.threshold)


def evaluate(
    kb_dir: Path = KB_DIR,
    threshold: float = DEFAULT_THRESHOLD,
    external: Path = EXTERNAL,
    classifier: InjectionClassifier | None = None,
    classifier_name: str | None = None,
    classifier_alone: bool = False,
    sides: tuple[str, ...] = SIDES,
) -> Evaluation:
    """Run the detector over the project's corpus and every external collection of ``sides``."""
    score = Detect(threshold, classifier, classifier_alone)
    result = Evaluation(threshold, f"{classifier_name} alone" if classifier_alone else classifier_name)
    attacks, benign = _own(kb_dir)
    if "tuning" in sides:
        _measure_own(result, attacks, benign, score)
    loaded = list(_external(external))
    tuning = {_key(t.text) for data, a, b in loaded if data["side"] == "tuning" for t in a + b}
    tuning |= {_key(t.text) for t in attacks + benign}
    for data, attacks, benign in loaded:
        if data["side"] not in sides:
            continue
        item = result.collections[data["source"]] = Collection(data["source"], data["side"], data["package"])
        if item.side == "held_apart":
            keep_a = [t for t in attacks if _key(t.text) not in tuning]
            keep_b = [t for t in benign if _key(t.text) not in tuning]
            item.dropped = len(attacks) + len(benign) - len(keep_a) - len(keep_b)
            attacks, benign = keep_a, keep_b
        _measure(item, attacks, benign, score)
    return result


def _measure_own(result: Evaluation, attacks: list[Text], benign: list[Text], score: Detect) -> None:
    """The project's corpus, and its older held-out quarter (every fourth entry)."""
    own = result.collections["tiller"] = Collection("tiller", "tuning", "tests/safety/data")
    caught, flagged = _measure(own, attacks, benign, score)
    for found in caught[::4]:
        result.recall_held_out.add(found)
    messages = [found for text, found in zip(benign, flagged, strict=True) if text.style == "support_message"]
    for found in messages[::4]:
        result.false_positives_held_out.add(found)


def _cell(rate: Rate, before: Rate | None = None) -> str:
    """``92.1% (677/735)``, or ``64.1% (471/735) → 92.1% (677/735)`` against an earlier run."""
    now = f"{rate.value:.1%} ({rate.hits}/{rate.total})" if rate.total else "–"
    if before is None or not before.total:
        return now
    return f"{before.value:.1%} ({before.hits}/{before.total}) → {now}"


Baseline = dict[str, Any]
"""An earlier run's ``--json`` output, to show each number as before → after (``--compare``)."""


def _rate(data: dict[str, Any] | None) -> Rate | None:
    return Rate(int(data["hits"]), int(data["total"])) if data else None


def _before(baseline: Baseline | None, source: str, key: str) -> Any:
    return (baseline or {}).get("collections", {}).get(source, {}).get(key)


def sources_table(result: Evaluation, baseline: Baseline | None = None) -> str:
    """One row per source and one per side: recall on attacks, false positives on benign texts."""
    lines = ["| side | source | package | recall on attacks | false positives on benign |", "|---|---|---|---|---|"]
    for side in (s for s in SIDES if any(c.side == s for c in result.collections.values())):
        for item in (c for c in result.collections.values() if c.side == side):
            dropped = f" ({item.dropped} dropped: equal to tuning texts)" if item.dropped else ""
            recall = _cell(item.recall, _rate(_before(baseline, item.source, "recall")))
            false_positives = _cell(item.false_positives, _rate(_before(baseline, item.source, "false_positives")))
            lines.append(f"| {side} | {item.source} | {item.package}{dropped} | {recall} | {false_positives} |")
        total, then = result.side(side), (baseline or {}).get("sides", {}).get(side, {})
        recall = _cell(total.recall, _rate(then.get("recall")))
        false_positives = _cell(total.false_positives, _rate(then.get("false_positives")))
        lines.append(f"| **{side}** | **all** | | **{recall}** | **{false_positives}** |")
    return "\n".join(lines)


_MAX_STYLES = 25  # a source with more ``set:type`` styles than this is shown by set and by type
_MAX_BENIGN_STYLES = 10  # a source with more benign styles than this gets one benign row


def _grouped(styles: dict[str, Rate]) -> dict[str, Rate]:
    """Styles as given, or — for a source with many ``set:type`` styles — summed per set and per type."""
    if len(styles) <= _MAX_STYLES or not all(":" in s for s in styles):
        return dict(styles)
    out: dict[str, Rate] = defaultdict(Rate)
    for style, rate in styles.items():
        prefix, suffix = style.split(":", 1)
        for key in (f"{prefix}:*", f"*:{suffix}"):
            out[key].hits += rate.hits
            out[key].total += rate.total
    return out


def styles_table(result: Evaluation, side: str, baseline: Baseline | None = None) -> str:
    """Recall by style (attacks) and false positives by style (benign), for one side's sources."""
    lines = ["| source | style | recall on attacks | false positives on benign |", "|---|---|---|---|"]
    for item in (c for c in result.collections.values() if c.side == side):
        then = {k: _rate(v) or Rate() for k, v in (_before(baseline, item.source, "recall_by_style") or {}).items()}
        then = _grouped(then)
        for style, rate in sorted(_grouped(item.recall_by_style).items()):
            lines.append(f"| {item.source} | {style} | {_cell(rate, then.get(style))} | |")
        then_fp = _before(baseline, item.source, "false_positives_by_style") or {}
        if len(item.false_positives_by_style) > _MAX_BENIGN_STYLES:  # one row: the styles are in --json
            before = _rate(_before(baseline, item.source, "false_positives"))
            label = f"all {len(item.false_positives_by_style)} benign styles"
            lines.append(f"| {item.source} | {label} | | {_cell(item.false_positives, before)} |")
            continue
        for style, rate in sorted(item.false_positives_by_style.items()):
            lines.append(f"| {item.source} | {style} (benign) | | {_cell(rate, _rate(then_fp.get(style)))} |")
    return "\n".join(lines)


def _print(result: Evaluation, misses: bool, held_apart_misses: bool, baseline: Baseline | None) -> None:
    with_classifier = f", classifier {result.classifier}" if result.classifier else ", heuristics only"
    print(f"## Injection detector at threshold {result.threshold}{with_classifier}\n")
    print(sources_table(result, baseline), "\n")
    for side in (s for s in SIDES if any(c.side == s for c in result.collections.values())):
        print(f"### {side} side, by style\n")
        print(styles_table(result, side, baseline), "\n")
    if "tiller" in result.collections:
        print(
            f"project corpus, older held-out quarter: recall {_cell(result.recall_held_out)}, "
            f"false positives {_cell(result.false_positives_held_out)}"
        )
    print(f"\nMeasured on {_commit()}:\n{machine()}")
    for side, show in (("tuning", misses), ("held_apart", held_apart_misses)):
        if show:
            total = result.side(side)
            print(f"\n{side} missed:", *total.missed, sep="\n  ")
            print(f"{side} flagged benign:", *total.flagged, sep="\n  ")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    except OSError:
        return "an unknown commit"
    if out.returncode != 0:
        return "an unknown commit"
    status = ["git", "status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run(status, capture_output=True, text=True, cwd=PROJECT_ROOT)
    return f"commit {out.stdout.strip()}" + (" with uncommitted changes" if dirty.stdout.strip() else "")


class CachedClassifier:
    """A classifier whose scores are kept in a JSON file (by SHA-256 of the text), so a slow model
    scores each text once across runs (alone, combined, one side then the other)."""

    def __init__(self, classifier: InjectionClassifier, path: Path) -> None:
        self.classifier, self.path = classifier, path
        self.scores: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}

    def __call__(self, text: str) -> float:
        key = hashlib.sha256(text.encode()).hexdigest()
        if key not in self.scores:
            self.scores[key] = float(self.classifier(text))
            if len(self.scores) % 25 == 0:
                self.save()
        return self.scores[key]

    def save(self) -> None:
        self.path.write_text(json.dumps(self.scores))


def _classifier(spec: str | None) -> InjectionClassifier | None:
    if not spec:
        return None
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--misses", action="store_true", help="list the tuning side's misses and false positives")
    parser.add_argument("--held-apart-misses", action="store_true", help="list the held-apart side's (not for tuning)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--classifier", help="module:callable, text -> probability of injection")
    parser.add_argument("--classifier-alone", action="store_true", help="measure the classifier without heuristics")
    parser.add_argument("--side", choices=SIDES, help="only this side of the split (default: both)")
    parser.add_argument("--cache", type=Path, help="keep the classifier's scores in this JSON file")
    parser.add_argument("--compare", type=Path, help="an earlier run's --json output: show before → after")
    args = parser.parse_args(argv)
    classifier = _classifier(args.classifier)
    if classifier is not None and args.cache:
        classifier = CachedClassifier(classifier, args.cache)
    result = evaluate(
        threshold=args.threshold,
        classifier=classifier,
        classifier_name=args.classifier,
        classifier_alone=args.classifier_alone,
        sides=(args.side,) if args.side else SIDES,
    )
    if isinstance(classifier, CachedClassifier):
        classifier.save()
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        baseline = json.loads(args.compare.read_text()) if args.compare else None
        _print(result, args.misses, args.held_apart_misses, baseline)


if __name__ == "__main__":
    main()
