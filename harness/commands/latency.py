"""`dawg-bench latency`: MLPerf-style latency of model releases on CPU (measured), T4/A10G
(measured where that GPU exists, otherwise projected — and labelled so) and the browser (measured in
headless Chromium by ONNX Runtime Web, or INVALID with the reason)."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "latency percentiles of model releases per hardware target (measured or projected)"
EXAMPLES = """examples:
  dawg-bench latency                               # newest release of each task, cpu,t4,a10g
  dawg-bench latency eq-v3 --hardware cpu --json
  dawg-bench latency eq-v3 --profile               # on a GPU instance: top operators, CPU fallbacks
  dawg-bench latency --calibrate-cpu               # fit the CPU device model to this machine (~1 min)
  dawg-bench latency --setup-browser               # once: onnxruntime-web from npm into the cache folder
  dawg-bench latency --hardware browser            # ONNX Runtime Web in headless Chromium (~3 s per model)

Every row says `measured` (it ran on that hardware) or `projected` (device model; assumptions in --json).
`eq-v3` is an illustrative release name. With no release at all there is nothing to measure (exit 0).
exit codes: 0 ok · 1 some measurement INVALID · 2 bad input (unknown release or target)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("latency", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("releases", nargs="*", metavar="RELEASE", help="release names (default: newest of each task)")
    p.add_argument("--hardware", default="cpu,t4,a10g", help="comma-separated targets (default: cpu,t4,a10g)")
    p.add_argument("--clip-seconds", type=float, default=10.0, help="audio length for end_to_end (default 10)")
    p.add_argument("--min-queries", type=int, default=500,
                   help="single-stream minimum query count for the controller (default 500: p99 needs 459)")
    p.add_argument("--min-duration", type=float, default=1.0, help="single-stream minimum seconds (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON rows")
    p.add_argument("--profile", action="store_true", help="ONNX Runtime per-node profile on the best provider here")
    p.add_argument("--db", metavar="PATH", help="results database (default: <cache>/results.db)")
    p.add_argument("--calibrate-cpu", action="store_true",
                   help="measure a family of calibration models here and fit the CPU device model; prints the "
                        "fit, its errors and the [cpu] values for targets.toml (docs/latency.md)")
    p.add_argument("--setup-browser", action="store_true",
                   help="install the browser target's assets (onnxruntime-web, pinned, from npm into the cache "
                        "folder) and check for Chromium; then exit")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.environment import fingerprint
    from harness.errors import UserError
    from harness.latency.loadgen import Settings
    from harness.latency.measure import measure_release, profile_release
    from harness.latency.targets import get_targets
    from harness.models import find_release, models_dir, newest_per_task
    from harness.onnx_session import available_providers, model_load_errors
    from harness.store import Store

    if args.calibrate_cpu:
        return calibrate_cpu(args)
    if args.setup_browser:
        return setup_browser()
    targets = get_targets([t.strip() for t in args.hardware.split(",") if t.strip()])
    in_browser = any(t.kind == "browser" for t in targets)
    targets = [t for t in targets if t.kind != "browser"]  # the browser measures every release in one Chromium
    releases = [find_release(n) for n in args.releases] if args.releases else list(newest_per_task().values())
    if not releases:  # nothing to measure is not bad input: CI goes on to the gate, which says "nothing to ship"
        print(f"no model releases in {models_dir()}: nothing to measure (set DAWG_BENCH_MODELS or train one)")
        return 0
    if args.min_queries < 1 or args.min_duration < 0:
        raise UserError("--min-queries must be ≥ 1 and --min-duration ≥ 0")
    settings = Settings(min_query_count=args.min_queries, min_duration_s=args.min_duration)
    rows: list[dict] = []
    failed: list[str] = []
    env = fingerprint()
    store = Store(args.db)
    try:
        for release in releases if targets else []:  # each release's rows are stored before the next can fail
            try:
                measured = measure_release(release, targets, clip_seconds=args.clip_seconds, settings=settings)
            except (UserError, OSError, ValueError, *model_load_errors()) as exc:  # a bad model file: keep the others
                failed.append(release.name)
                print(f"dawg-bench latency: {release.name}: cannot measure ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0] if str(exc) else ''})", file=sys.stderr)
                continue
            store.add_latencies([{**r, "environment": env} for r in measured])
            rows += measured
        if in_browser:
            measured = measure_browser(releases, settings, args.clip_seconds)
            store.add_latencies([{**r, "environment": env} for r in measured])
            rows += measured
    finally:
        store.close()
    profiles = []
    if args.profile:
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available_providers()]
        profiles = [profile_release(r, p, providers) for r in releases for p in r.precisions]
    if args.json:
        json.dump({"latency": rows, "profiles": profiles, "environment": env}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print_latency(rows)
        for prof in profiles:
            _print_profile(prof)
    return 0 if all(r["valid"] for r in rows) and not failed else 1


def measure_browser(releases: list, settings, clip_seconds: float) -> list[dict]:
    from rich.console import Console

    from harness.latency.browser.measure import measure_in_browser
    from harness.progress import reporting

    with reporting(Console(stderr=True), "browser latency (release × precision × threads)") as progress:
        return measure_in_browser(releases, settings=settings, clip_seconds=clip_seconds, progress=progress)


def setup_browser() -> int:
    from harness.latency.browser.assets import chromium_executable, chromium_version, install

    assets = install(log=lambda line: print(line, file=sys.stderr))
    print(f"browser assets: onnxruntime-web {assets.version} in {assets.dist}")
    chromium = chromium_executable()
    if chromium is None:
        print("Chromium: not found on PATH; install it (Debian: apt-get install chromium, or "
              "scripts/install-system-deps.sh). Until then browser rows are INVALID.")
        return 1
    print(f"Chromium: {chromium_version(chromium) or 'unknown version'} at {chromium}")
    return 0


def calibrate_cpu(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from rich.console import Console

    from harness.latency.calibration import run_calibration
    from harness.latency.targets import load_targets
    from harness.progress import reporting

    with tempfile.TemporaryDirectory() as tmp, reporting(Console(stderr=True), "calibration models") as progress:
        fit = run_calibration(Path(tmp), load_targets()["cpu"], progress=progress)
    if args.json:
        json.dump(fit.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    e_in, e_loo = fit.errors["in_sample"], fit.errors["leave_one_out"]
    print(f"CPU device model fitted on {fit.machine['cpu']} (onnxruntime {fit.machine['onnxruntime']}, 1 thread), "
          f"{e_in['n']} models:")
    print(f"  relative error in-sample: median |e| {e_in['median_abs']:.0%}, max |e| {e_in['max_abs']:.0%}")
    print(f"  leave-one-out:            median |e| {e_loo['median_abs']:.0%}, max |e| {e_loo['max_abs']:.0%}")
    print("values for harness/latency/targets.toml [cpu]:")
    for key, value in fit.target_values().items():
        print(f"  {key} = {value}")
    return 0


def _ms(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "—"


def print_latency(rows: list[dict], console=None) -> None:
    from rich import box
    from rich.table import Table

    from harness.scorecard import wide_console

    console = console or wide_console()
    # Laid out for 100 columns (CI logs): labels never wrap; RTF and throughput are in --json.
    t = Table(title="latency (single stream; nearest-rank percentiles, each reported only with enough queries)",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("model", "prec", "hardware", "source", "scope", "thr", "p50 ms", "p95 ms", "p99 ms", "status"):
        t.add_column(col, justify="right" if col.endswith(("ms", "thr")) else "left",
                     no_wrap=col in ("prec", "hardware", "source", "scope", "thr"))
    notes = []
    for r in rows:
        status = "VALID" if r["valid"] else f"INVALID: {r['reason']}"
        if r["source"] == "projected":
            band = (f" [{r['projected_low_ms']:.3f}–{r['projected_high_ms']:.3f}]"
                    if r.get("projected_low_ms") is not None else "")
            status = f"projection {_ms(r.get('projected_ms'))} ms{band}"
            if not r["valid"]:
                status += f" INVALID: {r.get('reason', '')}"
            if r.get("projection_error") is not None:
                notes.append(f"{r['model']} {r['precision']}: "
                             f"CPU projection vs measurement {r['projection_error']:+.0%} "
                             "(the method check)")
        # `browser:chromium-<version>` is too wide for the column: the version is in the notes below.
        hardware = "browser" if r["hardware"].startswith("browser") else r["hardware"]
        t.add_row(r["model"] + (" (fixture)" if r.get("fixture") else ""), r["precision"], hardware,
                  r["source"].upper(), r["scope"].replace("end_to_end", "e2e"), str(r["threads"] or "—"),
                  _ms(r.get("p50_ms")), _ms(r.get("p95_ms")), _ms(r.get("p99_ms")), status)
    console.print(t)
    for note in notes + _browser_notes(rows):
        console.print("  " + note)
    console.print("  PROJECTED rows did not run on that hardware: one figure with its band, no percentiles; "
                  "see `--json` for assumptions. Rules: docs/latency.md.")


def _kb(n: int | None) -> str:
    return f"{n / 1024:.1f}" if n is not None else "—"


def _browser_notes(rows: list[dict]) -> list[str]:
    """Per browser row with figures: cold start, wire bytes, parity, memory (all in --json as `browser`)."""
    notes = []
    for r in rows:
        b = r.get("browser") or {}
        if b.get("cold_start_ms") is None:
            continue
        size = b["model_bytes"]
        memory = f"{b['memory_bytes'] / 2**20:.1f} MiB" if b.get("memory_bytes") is not None else "not reported"
        parity = (f"{b['parity_max_abs_diff']:.1g}" if b.get("parity_max_abs_diff") is not None else "not checked")
        notes.append(f"{r['model']} {r['precision']} {r['threads']} thr in the browser: cold start "
                     f"{b['cold_start_ms']:.0f} ms; model {_kb(size['raw'])} KiB raw, {_kb(size['gzip'])} gzip, "
                     f"{_kb(size['brotli'])} brotli; parity {parity} (≤ {b['parity_tolerance']:g}); memory {memory}")
    browsers = sorted({r["hardware"] for r in rows if r["hardware"].startswith("browser")})
    if browsers:
        notes.append(f"browser = {', '.join(browsers)}: ONNX Runtime Web (WASM) in a Web Worker, controller scope "
                     "only (features computed in Python, not in the page)")
    measured = [r["browser"] for r in rows if (r.get("browser") or {}).get("cold_start_ms") is not None]
    if measured:
        runtime = measured[0]["runtime_bytes"]
        notes.append(f"{measured[0]['runtime']} adds {runtime['raw'] / 2**20:.1f} MiB raw, "
                     f"{runtime['gzip'] / 2**20:.1f} MiB gzip to a first visit")
    return notes


def _print_profile(prof: dict) -> None:
    print(f"profile {prof['model']} {prof['precision']} on {', '.join(prof['providers'])} ({prof['queries']} queries):")
    for op in prof["top_ops"]:
        print(f"  {op['op']:24s} {op['ms_total']:9.3f} ms  {op['share']:6.1%}")
    fb = prof["cpu_fallback_nodes"]
    print(f"  nodes on CPU despite a GPU provider: {', '.join(fb) if fb else 'none'}")
