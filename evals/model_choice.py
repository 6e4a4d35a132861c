"""Which chat model a trial runs on, from the ``--model`` option; and the harness's own models.

- ``offline``: the embedded deterministic model (a fresh instance per trial);
- ``replay``: the scenario's own cassette (``cassette:`` or ``cassettes/<id>.yaml``);
- anything else: a model spec for ``agent.models.factory.make_model`` (``openai:gpt-4o-mini``,
  ``replay:path.yaml``, ``a,b`` fallbacks, ``router:offline,openai:gpt-4o-mini`` tiers).

The judge (``--judge``) and the simulated user (``--simulator``) are ``make_model`` specs too,
but not ``offline`` or a bare ``replay``: the offline model is a support agent, it can neither
grade nor play a customer.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel

from agent.errors import ConfigError
from agent.models.chain import ModelChain
from agent.models.errors import CassetteError
from agent.models.factory import make_model
from agent.models.offline import OfflineChatModel
from agent.models.replay import ReplayChatModel
from agent.models.router import RouterChain
from evals.errors import HarnessModelError, ScenarioSetupError
from evals.scenario import Scenario

LIVE_PREFIXES = ("openai:",)


def choose_model(spec: str, scenario: Scenario) -> BaseChatModel | ModelChain | RouterChain:
    """The model for one trial of ``scenario``; raise :class:`ScenarioSetupError` if unusable."""
    if spec == "offline":
        return OfflineChatModel()
    if spec == "replay":
        path = scenario.cassette_path
        if not path.exists():
            raise ScenarioSetupError(
                f"{scenario.id}: no cassette at {path}; record one with `tiller eval record` or set cassette:"
            )
        try:
            return ReplayChatModel(path)
        except CassetteError as exc:
            raise ScenarioSetupError(str(exc)) from None
    try:
        return make_model(spec)
    except (ConfigError, CassetteError) as exc:
        raise ScenarioSetupError(f"model {spec!r}: {exc}") from None


def is_live(spec: str) -> bool:
    """Whether the spec calls a real model (trials then differ; a rubric could be judged)."""
    return any(part.strip().startswith(LIVE_PREFIXES) for part in spec.split(","))


def harness_model(spec: str, purpose: Literal["judge", "simulator"]) -> ModelChain:
    """The chain the judge or the simulated user runs on; raise :class:`HarnessModelError`
    naming the option when the spec cannot be used."""
    parts = [p.strip() for p in spec.split(",")]
    if any(p in ("offline", "replay") for p in parts):
        raise HarnessModelError(
            f"--{purpose} {spec}: the {purpose} needs a live model (openai:<model>) or a recorded one "
            "(replay:<cassette>); the offline model cannot grade or play a customer"
        )
    try:
        chain = make_model(spec)
    except (ConfigError, CassetteError) as exc:
        raise HarnessModelError(f"--{purpose} {spec}: {exc}") from None
    if not isinstance(chain, ModelChain):
        raise HarnessModelError(f"--{purpose} {spec}: a router is for the agent; give the {purpose} one model")
    return chain
