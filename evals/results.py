"""The record of an eval run: checks, trials, scenarios, and the run — what every report reads.

``RunRecord`` is the JSON report (``{"version": 1, ...}``); its shape only changes with a new
version number, so other tools (``compare``, CI dashboards) can rely on it.
"""

from __future__ import annotations

from datetime import datetime
from math import comb
from typing import Literal

from pydantic import BaseModel, Field

from evals.transcript import Transcript

REPORT_VERSION = 1


class CheckResult(BaseModel):
    """One check of a trial: trajectory, approvals, invariants, state, answer, budget, status."""

    name: str
    passed: bool
    skipped: bool = False
    details: list[str] = Field(default_factory=list, description="why it failed, or why it was skipped")


class PartialCredit(BaseModel):
    """Precision / recall / F1 of the trial's tool calls against the expected ones."""

    precision: float = 1.0
    recall: float = 1.0
    f1: float = 1.0


class TrialResult(BaseModel):
    """One run of one scenario."""

    trial: int
    passed: bool
    checks: list[CheckResult] = Field(default_factory=list)
    credit: PartialCredit = Field(default_factory=PartialCredit)
    transcript: Transcript = Field(default_factory=Transcript)
    matched: list[tuple[int, int]] = Field(
        default_factory=list, description="(expected, actual) call indexes (0-based) the trajectory match paired"
    )
    changes: dict[str, list[str]] = Field(default_factory=dict, description="database diff vs the seed, per table")
    error: str | None = Field(None, description="an exception that ended the trial early")

    @property
    def explanations(self) -> list[str]:
        lines = [f"{c.name}: {d}" for c in self.checks if not c.passed for d in c.details]
        return ([f"error: {self.error}"] if self.error else []) + lines


class ScenarioResult(BaseModel):
    """All trials of one scenario."""

    id: str
    file: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    model: str
    status: Literal["passed", "failed", "skipped"]
    skip_reason: str | None = None
    expected_calls: list[str] = Field(default_factory=list, description="the expected trajectory, rendered")
    trials: list[TrialResult] = Field(default_factory=list)

    @property
    def passes(self) -> int:
        return sum(t.passed for t in self.trials)

    def pass_hat(self, k: int) -> float:
        """pass^k: the chance that k trials drawn from these all pass (τ-bench's estimator)."""
        n = len(self.trials)
        if n == 0 or k > n:
            return 0.0
        return comb(self.passes, k) / comb(n, k)


class RunSummary(BaseModel):
    scenarios: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    trials: int = 0
    trials_passed: int = 0
    pass_rate: float = Field(0.0, description="trials passed / trials run")
    pass_hat_k: float = Field(0.0, description="mean over scenarios of pass^k")
    steps: int = 0
    tool_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    latency_p50_s: float = 0.0
    latency_p95_s: float = 0.0


class RunRecord(BaseModel):
    """The JSON report of one ``tiller eval run``."""

    version: Literal[1] = REPORT_VERSION
    started_at: datetime
    finished_at: datetime
    model: str
    k: int
    concurrency: int
    paths: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    summary: RunSummary = Field(default_factory=RunSummary)
    scenarios: list[ScenarioResult] = Field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(s.status == "failed" for s in self.scenarios)
