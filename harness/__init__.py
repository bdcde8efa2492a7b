"""DAWG Bench harness: audio I/O, plugin DSP, meters, suites, candidates, runner, latency, gates."""

__version__ = "0.1.0"
