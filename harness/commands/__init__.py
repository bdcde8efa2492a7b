"""Subcommands. Adding one = one module with `register(subparsers)` plus one line here."""

from harness.commands import analyze, corpus, demo, gate, latency, run, suites

COMMANDS = (demo, analyze, suites, corpus, run, latency, gate)
