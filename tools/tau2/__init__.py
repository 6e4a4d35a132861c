"""τ²-bench (Sierra's benchmark of tool-using agents) as Tiller domains, through one generic
adapter over τ²'s own domain registry: its tools (``toolkit``), its database (``store``), its
policy and its ids (``vocabulary``), put together per τ² domain in ``domain``. Needs the
``tau2`` extra; ``source`` is the only module that imports τ². See docs/DOMAINS.md.
"""
