"""The release gate: may this candidate ship, judged on stored runs and latencies.

First the evidence must be fit (checked before any bar, each a verdict that names its reason): the
run scored this suite's content, on the suite's own corpus, with enough test examples per task, no
failures for the candidate, on the very files in the release folder, and the release is not a test
fixture. Then each bar is judged by its kind's function (harness/bars.py). Missing data fails.
"""

from __future__ import annotations

import json
from typing import Any

from harness.bars import Evidence, judge
from harness.models import Release
from harness.ship import QUALITY_TARGET, ship_precision
from harness.store import Store
from harness.suite_schema import Suite
from harness.verdict import Gated, Verdict

NO_RUN = "-"  # the run id of a verdict that found no run to judge


def gated_release(release: Release, latencies: list[dict] | None = None) -> Gated:
    """A release, at the precision that ships on the quality target (browser-first: the CPU)."""
    precision, why = ship_precision(release, QUALITY_TARGET, latencies or [])
    return Gated(label=release.name, task=release.task, candidate=release.candidate_name(precision), release=release,
                 fp32=release.candidate_name("fp32") if "fp32" in release.files else None, ships=why)


GateResult = tuple[str, str, list[Verdict]]  # (label, run id, verdicts)


def nothing_to_ship(where: str) -> GateResult:
    """No release to gate is a verdict (exit 1, JUnit and Markdown written), not bad input."""
    return ("(no release)", NO_RUN, [Verdict("something to ship", "all", False,
                                             f"no model release in {where}: nothing may ship (train one, or set "
                                             "DAWG_BENCH_MODELS)")])


def previous_release(release: Release, releases: list[Release]) -> Release | None:
    """The release of the same task just before this one (by version), or None for a first release."""
    older = [r for r in releases if r.task == release.task and r.version < release.version]
    return older[-1] if older else None


def gate_all(suite: Suite, targets: list[Gated], store: Store, releases: list[Release], *,
             against: Release | None = None) -> list[GateResult]:
    """Gate each target against the suite's bars and record the verdicts: what `gate` and `demo` share.

    The regression bar compares a release with `against`, else with the release before it."""
    results: list[GateResult] = []
    latencies = store.latencies()
    for gated in targets:
        previous = None
        if gated.release is not None:
            before = against or previous_release(gated.release, releases)
            previous = gated_release(before, latencies) if before is not None else None
        run_id, verdicts = evaluate(suite, gated, store, previous=previous, latencies=latencies)
        store.add_gates(suite.name, gated.label, [v.to_json() for v in verdicts], None if run_id == NO_RUN else run_id)
        results.append((gated.label, run_id, verdicts))
    return results


def find_run(store: Store, suite: Suite, candidate: str) -> tuple[Any | None, str]:
    """The newest complete run (its store row) of this suite's scoring content that scored `candidate`,
    or why none. The identity is read from the row `runs()` returns: one query for all runs."""
    from harness.runner import suite_content_hash

    wanted = suite_content_hash(suite)
    other_content = 0
    for run in store.runs():
        identity = json.loads(run["environment"] or "{}").get("identity", {})
        if candidate not in identity.get("candidates", {}):
            continue
        if identity.get("suite") == wanted:
            return run, ""
        other_content += run["suite"] == suite.name
    if other_content:
        return None, (f"{other_content} run(s) of a suite named {suite.name!r} scored {candidate}, but with other "
                      f"scoring content than {suite.path} (another file of that name, or the suite changed); "
                      f"run `dawg-bench run {suite.path}`")
    return None, f"no complete run of suite {suite.name!r} scored {candidate}; run `dawg-bench run {suite.name}` first"


def evidence_verdicts(suite: Suite, gated: Gated, run_id: str, report: dict, rows: list[dict],
                      store: Store, tasks: list[str]) -> list[Verdict]:
    """Is the evidence fit to judge? One verdict per check, before any bar."""
    out = [_own_corpus(suite, report, run_id)]
    if gated.release is not None:
        out.append(_files_match(gated, run_id, store))
        if gated.release.fixture:
            out.append(Verdict("not a test fixture", gated.task or "all", False,
                               f"{gated.release.folder}/release.json says fixture: true (random weights); "
                               "a fixture never ships"))
    names = {gated.candidate, gated.fp32} - {None}
    for task in tasks:
        failed = [r for r in rows if r["candidate"] in names and r["task"] == task and r["error"]]
        failed += [f for f in report.get("failures", []) if f.get("candidate") in names and f.get("task") == task
                   and not f.get("clip")]
        if failed:
            first = failed[0]
            out.append(Verdict("no failed examples", task, False,
                               f"{len(failed)} example(s) of {', '.join(sorted(names))} failed in run {run_id}, "
                               f"e.g. {first.get('clip_id') or first.get('clip') or ''}: {first.get('error')}"))
        else:
            out.append(Verdict("no failed examples", task, True, f"every example of {gated.candidate} scored"))
        out.append(_enough_examples(suite, report, rows, gated.candidate, task))
        if suite.gate.require_sources:
            out.append(_required_sources(suite, rows, gated.candidate, task))
    return out


def _required_sources(suite: Suite, rows: list[dict], candidate: str, task: str) -> Verdict:
    have = {r.get("source") for r in rows if r["candidate"] == candidate and r["task"] == task and not r["error"]}
    missing = [s for s in suite.gate.require_sources if s not in have]
    if missing:
        return Verdict("evidence covers the required sources", task, False,
                       f"no {' or '.join(missing)} test examples of {candidate}; {suite.path} requires "
                       f"{', '.join(suite.gate.require_sources)} (e.g. `dawg-bench run {suite.name} --recorded "
                       "/usr/share/hyperrogue/music`)")
    return Verdict("evidence covers the required sources", task, True,
                   f"scored on {', '.join(sorted(s for s in have if s))} test examples")


def _own_corpus(suite: Suite, report: dict, run_id: str) -> Verdict:
    corpus = report.get("corpus", {})
    recipe, manifest = corpus.get("recipe"), corpus.get("manifest_hash", "?")

    def verdict(ok: bool, detail: str) -> Verdict:
        return Verdict("evidence is on the suite's own corpus", "all", ok, detail)

    if recipe is None:
        return verdict(False, f"run {run_id} predates corpus provenance; run `dawg-bench run {suite.name}` again")
    kind = recipe.get("kind")
    if kind == "folder":
        if manifest in suite.gate.allowed_corpora:
            return verdict(True, f"folder corpus {manifest[:16]}… is allowed by {suite.path} [gate] allowed_corpora")
        return verdict(False, f"run {run_id} scored a folder corpus (manifest {manifest[:16]}…, from --corpus) that "
                              f"{suite.path} does not allow; add its manifest hash to [gate] allowed_corpora "
                              "to gate on it")
    generated = recipe if kind == "generated" else recipe.get("generated", {})
    ran = json.loads(json.dumps(generated.get("corpus", {}), sort_keys=True))
    own = json.loads(json.dumps(suite.corpus.model_dump(), sort_keys=True))
    if ran != own:
        diff = sorted(k for k in set(ran) | set(own) if ran.get(k) != own.get(k))
        return verdict(False, f"run {run_id} generated its corpus with other settings than {suite.path} "
                              f"({', '.join(diff)} differ, e.g. --seed)")
    extra = " + recorded test clips" if kind == "generated+recorded" else ""
    return verdict(True, f"the suite's generated corpus{extra}, manifest {manifest[:16]}…")


def _files_match(gated: Gated, run_id: str, store: Store) -> Verdict:
    """Do the files scored in `run_id` hash to the files in the release folder now?"""
    scored = store.run_identity(run_id).get("candidates", {})
    stale = []
    for name in {gated.candidate, gated.fp32} - {None}:
        precision = name.rsplit("@", 1)[-1]
        if precision not in gated.release.files:
            continue
        recorded = (scored.get(name) or {}).get("files")
        if recorded != gated.release.identity(precision):
            stale.append(f"{precision}: {'never hashed' if recorded is None else 'files changed since'}")
    task = gated.task or "all"
    if stale:
        return Verdict("evidence is for these model files", task, False,
                       f"run {run_id} did not score the files in {gated.release.folder} ({'; '.join(stale)}); "
                       f"run `dawg-bench run` again")
    return Verdict("evidence is for these model files", task, True,
                   f"sha256 of release.json and ONNX files match run {run_id}")


def _enough_examples(suite: Suite, report: dict, rows: list[dict], candidate: str, task: str) -> Verdict:
    """Count scored test examples on the suite's own corpus (recorded extras are a separate test set)."""
    own_only = (report.get("corpus", {}).get("recipe") or {}).get("kind") == "generated+recorded"
    n = sum(1 for r in rows if r["candidate"] == candidate and r["task"] == task and not r["error"]
            and not (own_only and r.get("source") == "recorded"))
    need = suite.tasks[task].min_test_examples
    return Verdict("enough test examples", task, n >= need,
                   f"{n} scored test examples of {candidate} (suite needs ≥ {need}: "
                   f"{'tasks.' + task + '.min_test_examples'})")


def evaluate(suite: Suite, gated: Gated, store: Store, *, previous: Gated | None = None,
             latencies: list[dict] | None = None) -> tuple[str, list[Verdict]]:
    run, why = find_run(store, suite, gated.candidate)
    if run is None:
        return NO_RUN, [Verdict("evidence exists", gated.task or "all", False, why)]
    run_id = run["run_id"]
    rows = store.clip_results(run_id)
    report = json.loads(run["report"] or "{}")
    tasks = [gated.task] if gated.task else sorted({r["task"] for r in rows if r["candidate"] == gated.candidate})
    tasks = [t for t in tasks if t in suite.tasks]
    if not tasks:
        return run_id, [Verdict("nothing checked", gated.task or "all", False,
                                f"suite {suite.name} has no task that {gated.candidate} was scored on")]
    verdicts = evidence_verdicts(suite, gated, run_id, report, rows, store, tasks)
    latencies = store.latencies() if latencies is None else latencies
    for task in tasks:
        bars = [bar for bar in suite.bars if not bar.task or bar.task == task]
        if not bars:  # a gate that checks nothing must not pass
            verdicts.append(Verdict("nothing checked", task, False, f"suite {suite.name} has no bar for task {task}"))
        evidence = Evidence(suite=suite, task=task, gated=gated, run_id=run_id, rows=rows, report=report,
                            latencies=latencies, previous=previous)
        verdicts += [judge(evidence, bar) for bar in bars]
    return run_id, verdicts


def junit_xml(suite: str, label: str, verdicts: list[Verdict], run_id: str | None = None) -> str:
    import xml.etree.ElementTree as ET

    failures = sum(not v.passed for v in verdicts)
    root = ET.Element("testsuites", tests=str(len(verdicts)), failures=str(failures))
    ts = ET.SubElement(root, "testsuite", name=f"dawg-bench gate {suite} {label}", tests=str(len(verdicts)),
                       failures=str(failures))
    if run_id is not None:  # which stored run the verdicts judged (`dawg-bench` runs are looked up by it)
        props = ET.SubElement(ts, "properties")
        ET.SubElement(props, "property", name="run_id", value=run_id)
    for v in verdicts:
        tc = ET.SubElement(ts, "testcase", classname=f"gate.{suite}.{v.task}", name=v.gate)
        if v.passed:
            ET.SubElement(tc, "system-out").text = v.detail
        else:
            ET.SubElement(tc, "failure", message=v.detail).text = v.detail
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def markdown_summary(suite: str, results: list[tuple[str, str, list[Verdict]]]) -> str:
    ok = all(v.passed for _, _, vs in results for v in vs)
    lines = [f"## DAWG Bench gate `{suite}`: {'✅ PASS' if ok else '❌ FAIL'}", ""]
    for label, run_id, verdicts in results:
        lines += [f"**{label}** (run `{run_id}`)", "", "| | gate | task | detail |", "|---|---|---|---|"]
        lines += [f"| {'✅' if v.passed else '❌'} | {_cell(v.gate)} | {_cell(v.task)} | {_cell(v.detail)} |"
                  for v in verdicts]
        lines.append("")
    lines.append("Latency figures say MEASURED (ran on that hardware) or PROJECTED (device model).")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """A Markdown table cell: a `|` or a newline in a detail must not break the table."""
    return text.replace("|", "\\|").replace("\n", " ")
