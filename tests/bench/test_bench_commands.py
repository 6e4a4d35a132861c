"""The measurement commands outside ``python -m bench`` run end to end; no number is asserted.

``python -m bench.detector`` is run by tests/agent/checks/injection/test_detector_corpora.py (its --json
output); ``python -m bench.corpora`` downloads the source wheels, which the tests cannot (no network).
"""

from __future__ import annotations

import pytest

from bench import neutralization


def test_neutralization_prints_a_row_per_attack_style(capsys: pytest.CaptureFixture[str]) -> None:
    neutralization.main([])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| AgentDojo attack | neutralised |")
    styles = {line.split(" | ")[0].removeprefix("| ") for line in lines[2:]}
    assert {"direct", "ignore_previous", "important_instructions"} <= styles
