"""How a run is configured: the options of ``tiller eval run`` and the models the harness itself
uses (judge, simulated user), shared by the runner, its worker processes and each trial."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from agent.models.chain import ModelChain
from agent.models.router import RouterChain
from evals.homes import RetrievalMode
from evals.judge import Judge
from evals.model_choice import harness_model
from evals.results import TrialResult
from evals.scenario import Scenario
from evals.simulator import SimulatedUser

ModelFactory = Callable[[Scenario, int], BaseChatModel | ModelChain | RouterChain]
"""``(scenario, trial) -> model``: overrides ``--model`` (selfcheck and record use it)."""
TrialDone = Callable[[Scenario, TrialResult], None]


@dataclass(frozen=True)
class RunOptions:
    """How to run: model spec, trials per scenario, parallel trials, where to work."""

    model: str = "offline"
    k: int = 1
    concurrency: int = 1
    retrieval_mode: RetrievalMode = "bm25"
    include_unsupported: bool = False
    """Run ``offline: false`` scenarios on the offline model too (they are skipped otherwise)."""
    work_dir: Path | None = None
    keep_homes: bool = False
    skip_checks: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    judge: str | None = None
    """Model spec of the LLM judge that grades rubrics (none: rubric checks are skipped)."""
    simulator: str | None = None
    """Model spec of the simulated user (none: scenarios with a ``user_simulator`` are skipped)."""
    traces_db: str | None = None
    """Database URL that receives a copy of every trial's traces (``evals.traces``); none: dropped."""
    processes: int | None = None
    """Worker processes for the trials (``evals.parallel``; worth it for offline and replayed
    models on idle cores); 0 or 1: threads only; ``None``: decided per run (``auto_processes``)."""


@dataclass(frozen=True)
class HarnessModels:
    """The models the harness itself uses, shared by every trial of a run."""

    judge: Judge | None = None
    simulated_user: SimulatedUser | None = None

    @classmethod
    def from_options(cls, options: RunOptions) -> HarnessModels:
        """Built from the specs of ``options``; raise ``HarnessModelError`` when one is unusable."""
        judge = Judge(harness_model(options.judge, "judge")) if options.judge else None
        user = SimulatedUser.from_chain(harness_model(options.simulator, "simulator")) if options.simulator else None
        return cls(judge, user)
