"""Neutralising instruction-like text inside data: replace it with a visible marker.

Used on tool results and retrieved passages (always, unless the tenant only flags) and on user
messages when a tenant's injection policy is ``redact``. The unit removed is a line and the
rest of its paragraph — injected instructions follow their hook ("SYSTEM:", "ignore previous
instructions…") — and any HTML comment whose content is instruction-like. When the text as a
whole is an injection but no single line is (signals spread over lines), the whole text goes.
"""

from __future__ import annotations

import re

from agent.checks.injection.detector import InjectionClassifier, InjectionReport, detect_injection

MARKER = "[removed by Tiller: text that tried to instruct the assistant]"
_COMMENT = re.compile(r"<!--[\s\S]*?(?:-->|$)")
_BLANK_LINE = re.compile(r"(\n\s*\n)")


class Detector:
    """``detect_injection`` bound to a threshold and an optional classifier."""

    def __init__(self, threshold: float, classifier: InjectionClassifier | None = None) -> None:
        self.threshold = threshold
        self.classifier = classifier

    def report(self, text: str) -> InjectionReport:
        return detect_injection(text, self.classifier)

    def detects(self, text: str) -> bool:
        return self.report(text).detected(self.threshold)


def _paragraph(block: str, detector: Detector) -> str:
    lines = block.split("\n")
    for index, line in enumerate(lines):
        if line.strip() and detector.detects(line):
            return "\n".join([*lines[:index], MARKER])
    return block


def neutralize(text: str, detector: Detector) -> tuple[str, InjectionReport]:
    """``text`` with its instruction-like parts replaced by :data:`MARKER`, and the report on
    the original text. Text that is not an injection comes back unchanged."""
    report = detector.report(text)
    if not report.detected(detector.threshold):
        return text, report
    cleaned = _COMMENT.sub(lambda m: MARKER if detector.detects(m.group()) else m.group(), text)
    parts = _BLANK_LINE.split(cleaned)
    cleaned = "".join(p if _BLANK_LINE.fullmatch(p) else _paragraph(p, detector) for p in parts)
    if detector.detects(cleaned.replace(MARKER, "")):
        cleaned = MARKER
    return cleaned, report
