"""The garbage collector of a long-running service process (``tiller serve``), settled once it started.

CPython's cyclic collector runs a young collection every 700 net allocations of container objects
and, every hundred of those, a full one over every object the process holds. A started service
holds ~250,000 of them (modules, schemas, the compiled graph, the models' clients) that will live
as long as it does, and a run allocates tens of thousands more: under load the collector took
~8 % of the server's CPU, in full collections of up to 300 ms during which no request moved
(docs/BENCHMARKS.md §9). Once startup is done, :func:`settle_heap` collects what startup left,
moves the survivors to the permanent generation (``gc.freeze``: never scanned again, freed as usual
when their last reference goes) and lets the young generation grow to 10,000 objects before it is
collected, which a run's garbage reaches in a fraction of a run. Cycles are still collected; only
less often. A library caller's process is not ours to tune: ``Tiller`` never does this, only the
served app's lifespan.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION = 10_000
"""Net allocations between young collections once settled (CPython's default: 700)."""


def settle_heap() -> None:
    """Collect, freeze what survived startup, and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_GENERATION), older, oldest)
