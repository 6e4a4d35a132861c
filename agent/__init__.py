"""Tiller's agent runtime: config, graph, limits, approvals, guards, models, CLI.

Imports ``tools``; never ``evals``.
"""
