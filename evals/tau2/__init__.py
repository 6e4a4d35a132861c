"""τ²-bench in the eval harness: its tasks as scenarios (``importer``), and the agreement of
Tiller's verdicts with τ²'s own evaluator (``agree``), behind ``tiller tau2 …`` (``cli``). The
domains themselves are ``tools.tau2``'s."""
