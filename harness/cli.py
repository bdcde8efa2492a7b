"""`dawg-bench`: one CLI, one module per subcommand under harness/commands/.

Exit codes everywhere: 0 ok, 1 a check failed or some inputs failed, 2 bad usage or input.
User errors print one line naming the file and the problem, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys

from harness import __version__
from harness.commands import COMMANDS
from harness.errors import UserError

EPILOG = """examples:
  dawg-bench demo                      # the main job on the embedded default
  dawg-bench analyze mix.wav master.flac
  dawg-bench run smoke --json smoke.json
  dawg-bench latency --hardware cpu,t4,a10g
  dawg-bench gate release --junit gate.xml --markdown gate.md

Each command has its own --help with examples. Cache: $DAWG_BENCH_HOME (default ~/.cache/dawg-bench).

exit codes: 0 ok · 1 a check failed or some inputs failed · 2 bad usage or input
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dawg-bench",
        description="Decide whether DAWG's ML plugin models ship: quality, latency, cost, gates.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    previous = signal.signal(signal.SIGTERM, _terminated)  # CI cancellation and `timeout` send SIGTERM
    try:
        _pull_s3_registry(args.command)
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"dawg-bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the environment's to fix (a path, a permission, a full disk): one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"dawg-bench {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dawg-bench {args.command}: interrupted (finished work is kept; run again to resume)", file=sys.stderr)
        return 130
    except Terminated:
        print(f"dawg-bench {args.command}: terminated (finished work is kept; run again to resume)", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)


def _pull_s3_registry(command: str) -> None:
    """With DAWG_BENCH_MODELS=s3://…, mirror the registry before a command reads releases."""
    import os

    uri = os.environ.get("DAWG_BENCH_MODELS", "")
    if uri.startswith("s3://") and command not in ("analyze", "suites", "corpus", "cost"):
        from harness.s3_registry import pull

        folder, fetched = pull(uri)
        if fetched:
            print(f"model registry {uri}: {fetched} files mirrored to {folder}", file=sys.stderr)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that pools and stores close on the way out."""


def _terminated(signum, frame) -> None:
    raise Terminated()


if __name__ == "__main__":
    sys.exit(main())
