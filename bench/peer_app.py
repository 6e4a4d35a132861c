"""The module ``langgraph dev`` serves in the load test: ``graph`` is the peer's agent.

LangGraph Server imports it by name (``bench.peer_app:graph`` in the ``langgraph.json`` that
``bench/load_peer.py`` writes) and reads the module-level graph, so it is built at import, from the
config file that ``TILLER_PEER_CONFIG`` names.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.peer_graph import CONFIG_ENV, PeerAgentConfig, build_agent

_path = os.environ.get(CONFIG_ENV)
if not _path:
    raise RuntimeError(
        f"{CONFIG_ENV} is not set: it names the peer agent's config file, which `python -m bench load "
        "--runtime langgraph-server` writes before it starts `langgraph dev`"
    )
graph = build_agent(PeerAgentConfig.read(Path(_path)))
