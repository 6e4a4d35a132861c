"""Tiller's benchmarks: per-step overhead against its peers, cold start, eval throughput,
retrieval latency, seed time and approval latency.

Run them with ``python -m bench`` (all) or ``python -m bench steps cold …`` (some); ``--quick``
runs every benchmark at tiny sizes (the smoke test uses it). Results are printed as Markdown
tables, the form ``docs/BENCHMARKS.md`` records them in. Benchmarks are not tests: nothing here
asserts a timing.
"""
