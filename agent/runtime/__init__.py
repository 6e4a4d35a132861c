"""What runs the loop: ``Tiller`` (the public runtime), tool execution through the idempotency
ledger, the read-tool cache and the tool set. Imports ``agent.loop`` and below, never the
interfaces."""

from agent.runtime.runs import EventHandler
from agent.runtime.tiller import Tiller, new_thread_id

__all__ = ["EventHandler", "Tiller", "new_thread_id"]
