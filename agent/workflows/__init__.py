"""Scripted workflow runs: a file of tasks executed by the agent without a person typing.

``spec`` reads a workflow (YAML) and its optional JSONL inputs into tasks; ``runner`` runs them
concurrently, parks the ones waiting for reviewers, and reports each outcome to a sink (a JSONL
file for ``tiller run``, database rows for the HTTP API) so that a rerun skips finished tasks.
"""
