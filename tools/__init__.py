"""Tiller tools: the tool contract and the tools agents call.

This package never imports ``agent`` or ``evals``.
"""
