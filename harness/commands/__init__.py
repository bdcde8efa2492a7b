"""Subcommands. Adding one = one module with `HELP` and `register(subparsers)` plus one entry here."""

from types import ModuleType

from harness.commands import analyze, corpus, cost, dashboard, demo, gate, latency, models, run, suites, train
from harness.registry import Registry

COMMANDS: Registry[ModuleType] = Registry("command", describe=lambda module: module.HELP)
for _module in (demo, analyze, suites, corpus, run, latency, gate, train, models, cost, dashboard):
    COMMANDS.register(_module.__name__.rsplit(".", 1)[-1], _module)
