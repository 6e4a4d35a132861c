"""The run hub forgets idle thread channels, looking for them at most every ``PRUNE_EVERY_S``."""

from __future__ import annotations

import pytest

from agent.interfaces.service import hub as hub_module
from agent.interfaces.service.hub import IDLE_CHANNEL_S, PRUNE_EVERY_S, RunHub
from agent.interfaces.service.metrics import ServiceMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_channels_are_forgotten_on_a_later_new_thread_but_not_looked_for_on_every_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(hub_module.time, "monotonic", clock)
    hub = RunHub(ServiceMetrics(), 2)
    idle, followed, running = hub.channel("idle"), hub.channel("followed"), hub.channel("running")
    followed.followers = 1
    running.running = "job_1"

    clock.now += IDLE_CHANNEL_S + 1  # all three quiet for longer than the idle time
    hub.channel("new-1")
    assert hub._channels.keys() == {"followed", "running", "new-1"}  # only the idle one goes
    assert idle is not hub.channel("idle")  # a new channel for a thread that comes back

    clock.now += IDLE_CHANNEL_S + 1
    hub.channel("new-2")
    assert "new-1" not in hub._channels and "idle" not in hub._channels

    clock.now += PRUNE_EVERY_S / 2  # "new-2" is idle long enough now, but the last look was too recent
    hub._channels["new-2"].touched -= IDLE_CHANNEL_S + 1
    hub.channel("new-3")
    assert "new-2" in hub._channels
    clock.now += PRUNE_EVERY_S
    hub.channel("new-4")
    assert "new-2" not in hub._channels and {"followed", "running", "new-3", "new-4"} <= hub._channels.keys()
