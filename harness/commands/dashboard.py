"""`dawg-bench dashboard`: the leadership dashboard, a headless Streamlit app over the results store."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

HELP = "serve the leadership dashboard (Streamlit, headless) over the results store"
EXAMPLES = """examples:
  dawg-bench dashboard                          # http://127.0.0.1:8501, the default store
  dawg-bench dashboard --db results/release.db --port 8600
  dawg-bench dashboard --host 0.0.0.0           # reachable from other machines (it binds 127.0.0.1 by default)
  dawg-bench dashboard --db old.db --upgrade    # add a newer schema's tables and columns to an older store, then serve

Pages: Overview (the release verdict, best model against every baseline, the plan's promises against
our measurements), Quality (distributions and a per-clip drill-down with audio), Latency (measured and
projected, FP32 and INT8, browser), Cost & ROI (presets, sliders, the plan audited) and History.
The dashboard only reads the store; an empty or missing store gets a page that says how to fill it.
Stop it with Ctrl-C. exit codes: 0 stopped · 2 bad input (a busy port, a bad --db)
"""

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default: 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--db", metavar="PATH", help="results database (default: <cache>/results.db)")
    p.add_argument("--upgrade", action="store_true",
                   help="migrate an older store to this version's schema before serving (keeps every row)")
    p.set_defaults(handler=run)


def check_port(host: str, port: int) -> None:
    from harness.errors import UserError

    if not 0 < port < 65536:
        raise UserError(f"--port {port}: not a TCP port (1–65535)")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"{host}:{port}: the port is in use (another dashboard?); pass --port N") from None
            raise UserError(f"{host}:{port}: cannot listen there: {exc.strerror}") from None


def streamlit_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
            "--server.address", host, "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--global.developmentMode", "false", "--client.toolbarMode", "minimal"]


def run(args: argparse.Namespace) -> int:
    from dashboards.store_view import DB_ENV, inspect_store
    from harness.store import Store, default_db_path

    db = Path(args.db).expanduser() if args.db else default_db_path()
    state = inspect_store(db)
    if args.upgrade and state.kind == "older":  # only an older store: --upgrade never creates one
        Store(db).close()  # opening with the writer migrates it in one transaction
        state = inspect_store(db)
    check_port(args.host, args.port)
    print(f"DAWG Bench dashboard: http://{args.host}:{args.port} · {state.message} · Ctrl-C stops it", flush=True)
    # exec, not a child: the server is this process, so nothing outlives the command
    os.execve(sys.executable, streamlit_command(args.host, args.port), {**os.environ, DB_ENV: str(db.resolve())})
    return 0  # not reached
