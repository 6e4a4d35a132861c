"""Tiller evals: scenarios, runner, trajectory matchers, reports. Imports agent and tools.

The pieces, in the order a run uses them:

- ``scenario`` / ``loader`` — the scenario format (pydantic models, published JSON schema) and
  loading with errors that name file, line and field;
- ``homes`` / ``runner`` / ``conversation`` / ``simulator`` — seeded template homes, trials on
  fresh copies, the conversation with its scripted reviewer and, optionally, a simulated user;
- ``trajectory`` / ``arg_matching`` / ``approvals`` / ``state`` / ``answer`` / ``judge`` /
  ``scoring`` — the checks, each explaining its failures (``judge``: the LLM judge of rubrics);
- ``results`` / ``metrics`` / ``report`` / ``compare`` — the run record and its reports;
- ``selfcheck`` / ``record`` / ``cli`` / ``pytest_plugin`` — tooling around them.
"""
