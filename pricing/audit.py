"""The owner's plan (dawg-ml-plan.md), audited figure by figure: every dollar figure, percentage and
multiple in it, recomputed from the plan's own unit prices and, where a figure rests on a price the
catalogue knows, from the catalogue too.

Three parts, each small:

- `extract_figures(text)`: every `$…`, `…%` and `…x` in the plan, with its line, its text and the
  line around it (the claim). A range is ONE figure with two ends (`$100-200/month`, `70-85%`,
  `2x-16x`, `50-100x`): the plan states it as one claim, and an audit of one end alone would be
  half a verdict. A price's unit stays in the text (`$0.023/GB/month`), so the spec can key on it.
- `pricing/audit/plan_audit.toml`: the audit as data, one entry per figure keyed by line number
  and matched text: an arithmetic expression over named quantities the plan states (`g4dn_hourly *
  hours_per_month * 2`), the verdict and the reason in one sentence. Quantities may name a
  catalogue SKU; the same expression evaluated with the catalogue's prices is the cross-check.
- `evaluate(expr, names)`: a tiny Decimal evaluator over Python's `ast` (numbers, names, + - * /,
  parentheses, unary minus, min/max). Nothing else parses: no attribute access, no calls but min and
  max, no `eval()`.

`recomputed_value` is what the figure should read on the plan's own prices: its arithmetic redone,
and, where the verdict names a premise, a missing component or a unit, with that one correction
applied (the reason states it). `difference` is recomputed − plan; for a range, each end's
difference, or the distance to the range when the recomputation is one number (0 inside it).
"""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from harness.errors import UserError

AUDIT_DIR = Path(__file__).with_name("audit")
PLAN_PATH = AUDIT_DIR / "dawg-ml-plan.md"  # the audited copy, byte for byte /work/shared/seed/dawg-ml-plan.md
SPEC_PATH = AUDIT_DIR / "plan_audit.toml"

VERDICTS: dict[str, str] = {
    "ok": "the figure follows from the plan's own prices (within its rounding)",
    "arithmetic slip": "the plan's own inputs give a different number",
    "different unit": "mixes units: per month with one-off, TB as 1,000 and 1,024 GB, per LCU for per LCU-hour",
    "missing component": "leaves out a cost the same setup pays",
    "wrong premise": "the arithmetic holds but rests on a wrong assumption (a price for another service, "
                     "a commitment that cannot be bought, one model's figure used for three)",
    "unverifiable claim": "no quantity or source behind it: nothing to recompute",
    "not a cost": "a quality score, a GPU count, a success criterion: not money",
    "unaudited": "the audit spec has no entry for this figure",
}
Kind = Literal["dollar", "percent", "multiple"]

# ─── extraction ──────────────────────────────────────────────────────────────────────────────────

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_DOLLAR = re.compile(
    rf"\$(?P<lo>{_NUM})(?P<lo_s>[KMB]\b)?"
    rf"(?:\s?[-–]\s?\$?(?P<hi>{_NUM})(?P<hi_s>[KMB]\b)?)?"
    r"(?P<unit>(?:/(?:[A-Za-z]+))+)?")
_PERCENT = re.compile(rf"(?<![\w.,$])\+?(?P<lo>{_NUM})(?:\s?[-–]\s?(?P<hi>{_NUM}))?\s?%\+?")
_MULTIPLE = re.compile(r"(?<![\w.,$])(?P<lo>\d+(?:\.\d+)?)(?:x?\s?[-–]\s?(?P<hi>\d+(?:\.\d+)?))?x\b")
_SCALE = {"K": Decimal(1000), "M": Decimal(1_000_000), "B": Decimal(1_000_000_000)}
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


@dataclass(frozen=True)
class Figure:
    """One `$`, `%` or `x` figure of the plan. `col`/`end` index the line (0-based, end exclusive);
    `nth` counts the same `text` on the same line (1 = first), so a key is unique."""

    kind: Kind
    line: int
    col: int
    end: int
    text: str
    low: Decimal
    high: Decimal | None
    claim: str
    section: str
    nth: int = 1

    @property
    def is_range(self) -> bool:
        return self.high is not None

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.line, self.text, self.nth)


def _number(text: str, suffix: str | None = None) -> Decimal:
    return Decimal(text.replace(",", "")) * _SCALE.get(suffix or "", Decimal(1))


def _claim(line: str) -> str:
    text = re.sub(r"[│┌┐└┘─├┤┬┴┼↓]+", " ", line).strip().replace("**", "").replace("`", "")  # ASCII-art boxes
    if text.startswith("|"):
        text = " | ".join(cell.strip() for cell in text.strip("|").split("|"))
    text = re.sub(r"^[-+]\s+|^\d+\.\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def extract_figures(plan_text: str) -> list[Figure]:
    """Every dollar figure, percentage and multiple, in reading order. Deterministic: the same text
    always gives the same list. Overlaps are impossible by construction (a `$` figure is taken first,
    and the `%` and `x` patterns refuse a number glued to `$`, a letter, a dot or a comma)."""
    figures: list[Figure] = []
    section = ""
    for number, line in enumerate(plan_text.splitlines(), start=1):
        heading = _HEADING.match(line)
        if heading:
            section = heading.group(1).replace("**", "").strip()
        found: list[tuple[int, int, Kind, str, Decimal, Decimal | None]] = []
        taken: list[tuple[int, int]] = []
        for kind, pattern in (("dollar", _DOLLAR), ("percent", _PERCENT), ("multiple", _MULTIPLE)):
            for m in pattern.finditer(line):
                if any(m.start() < end and start < m.end() for start, end in taken):
                    continue
                groups = m.groupdict()
                low = _number(groups["lo"], groups.get("lo_s"))
                high = _number(groups["hi"], groups.get("hi_s")) if groups.get("hi") else None
                found.append((m.start(), m.end(), kind, m.group(0), low, high))
                taken.append((m.start(), m.end()))
        seen: dict[str, int] = {}
        for start, end, kind, text, low, high in sorted(found):
            seen[text] = seen.get(text, 0) + 1
            figures.append(Figure(kind, number, start, end, text, low, high, _claim(line), section, seen[text]))
    return figures


# ─── the safe evaluator ──────────────────────────────────────────────────────────────────────────


class ExpressionError(UserError):
    """An audit expression that is not plain arithmetic, or names something unknown."""


class NoPlanPrice(Exception):
    """The expression needs a price the plan never states (it has only a catalogue SKU)."""


_OPS: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
}


def evaluate(expr: str, names: Mapping[str, Decimal] | Callable[[str], Decimal]) -> Decimal:
    """`expr` as exact Decimal arithmetic: numbers (read from their source text, so 0.023 stays
    exact), names (from `names`, a mapping or a lookup function), + - * /, parentheses, unary + and
    -, and min(...)/max(...). Anything else raises ExpressionError naming what was refused."""
    lookup = names if callable(names) else None
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{expr!r}: not an arithmetic expression ({exc.msg})") from None

    def walk(node: ast.AST) -> Decimal:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return Decimal(ast.get_source_segment(expr.strip(), node) or str(node.value))
        if isinstance(node, ast.Name):
            if lookup is not None:
                return lookup(node.id)
            if node.id not in names:  # type: ignore[operator]
                raise ExpressionError(f"{expr!r}: unknown name {node.id!r}")
            return Decimal(names[node.id])  # type: ignore[index]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            try:
                return _OPS[type(node.op)](left, right)
            except (DivisionByZero, InvalidOperation):
                raise ExpressionError(f"{expr!r}: division by zero") from None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max")
                and node.args and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args)):
            values = [walk(a) for a in node.args]
            return min(values) if node.func.id == "min" else max(values)
        raise ExpressionError(f"{expr!r}: {type(node).__name__} is not allowed (numbers, names, + - * /, "
                              f"parentheses, min, max only)")

    return walk(tree)


def expression_names(expr: str) -> set[str]:
    """The names an expression reads (min/max excluded)."""
    tree = ast.parse(expr.strip(), mode="eval")
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - calls


# ─── the spec ────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Quantity:
    """A number the plan states (a unit price, hours, a user count), optionally backed by a catalogue
    SKU whose quoted price × `sku_scale` is the same quantity in the plan's unit. `value` None: the
    plan states no such price (only the catalogue can fill it)."""

    name: str
    value: Decimal | None
    line: int | None = None
    sku: str | None = None
    sku_scale: Decimal = Decimal(1)
    what: str = ""


@dataclass(frozen=True)
class Entry:
    locations: tuple[tuple[int, str, int], ...]  # (line, text, nth)
    verdict: str
    reason: str
    expr: str | None = None
    low: str | None = None
    high: str | None = None

    @property
    def expressions(self) -> tuple[str, ...]:
        return tuple(e for e in (self.expr, self.low, self.high) if e)


@dataclass(frozen=True)
class Spec:
    quantities: dict[str, Quantity]
    derived: dict[str, str]
    entries: tuple[Entry, ...]
    path: str = ""
    plan_sha256: str = ""


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise UserError(f"{where}: write {value!r} as a string: floats are not exact")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise UserError(f"{where}: {value!r} is not a number") from None


def load_spec(path: str | Path | None = None) -> Spec:
    """Read and check the audit spec: known verdicts, a reason for each, every name defined, every
    expression plain arithmetic. One-line UserError naming the entry otherwise."""
    path = Path(path) if path else SPEC_PATH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: cannot read the audit spec: {exc}") from None
    quantities: dict[str, Quantity] = {}
    for name, q in raw.get("quantities", {}).items():
        where = f"{path}: quantities.{name}"
        if not isinstance(q, dict):
            q = {"value": q}
        unknown = set(q) - {"value", "line", "sku", "sku_scale", "what"}
        if unknown:
            raise UserError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if "value" not in q and "sku" not in q:
            raise UserError(f"{where}: give the plan's value, a catalogue sku, or both")
        quantities[name] = Quantity(name, _decimal(q["value"], where) if "value" in q else None, q.get("line"),
                                    q.get("sku"), _decimal(q.get("sku_scale", "1"), where), q.get("what", ""))
    derived = {str(k): str(v) for k, v in raw.get("derived", {}).items()}
    clash = set(derived) & set(quantities)
    if clash:
        raise UserError(f"{path}: {', '.join(sorted(clash))} defined both as quantity and derived")
    entries = []
    for i, e in enumerate(raw.get("figure", []), start=1):
        where = f"{path}: figure #{i} (line {e.get('line')}, {e.get('text')!r})"
        unknown = set(e) - {"line", "text", "nth", "expr", "low", "high", "verdict", "reason"}
        if unknown:
            raise UserError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if e.get("verdict") not in VERDICTS or e["verdict"] == "unaudited":
            raise UserError(f"{where}: verdict {e.get('verdict')!r} is not one of "
                            f"{', '.join(v for v in VERDICTS if v != 'unaudited')}")
        if not str(e.get("reason", "")).strip():
            raise UserError(f"{where}: every verdict needs its reason")
        if "expr" in e and ("low" in e or "high" in e) or (("low" in e) != ("high" in e)):
            raise UserError(f"{where}: give expr, or low and high, not both")
        lines = e["line"] if isinstance(e.get("line"), list) else [e.get("line")]
        if not all(isinstance(n, int) for n in lines) or not isinstance(e.get("text"), str):
            raise UserError(f"{where}: needs line (a number or a list) and text (the matched figure)")
        entry = Entry(tuple((n, e["text"], int(e.get("nth", 1))) for n in lines), e["verdict"], e["reason"].strip(),
                      e.get("expr"), e.get("low"), e.get("high"))
        entries.append(entry)
    spec = Spec(quantities, derived, tuple(entries), str(path), str(raw.get("plan_sha256", "")))
    known = set(quantities) | set(derived)
    for label, expr in [*((f"derived.{k}", v) for k, v in derived.items()),
                        *((f"figure at line {en.locations[0][0]} {en.locations[0][1]!r}", x)
                          for en in spec.entries for x in en.expressions)]:
        try:
            missing = expression_names(expr) - known
            evaluate(expr, {n: Decimal(1) for n in expression_names(expr)})  # shape check: arithmetic only
        except SyntaxError as exc:
            raise ExpressionError(f"{path}: {label}: {expr!r}: {exc.msg}") from None
        except ExpressionError as exc:
            if "division by zero" not in str(exc):
                raise ExpressionError(f"{path}: {label}: {exc}") from None
        if missing:
            raise ExpressionError(f"{path}: {label}: {expr!r} uses undefined name(s) {', '.join(sorted(missing))}")
    return spec


class _Env:
    """Resolves names for `evaluate`: quantities (plan values, or catalogue prices when given) and
    derived expressions (evaluated once, cycles refused)."""

    def __init__(self, spec: Spec, prices: Mapping[str, Decimal] | None = None) -> None:
        self.spec, self.prices = spec, prices
        self.cache: dict[str, Decimal] = {}
        self.stack: list[str] = []
        self.used_skus: set[str] = set()

    def __call__(self, name: str) -> Decimal:
        if name in self.cache:
            return self.cache[name]
        q = self.spec.quantities.get(name)
        if q is not None:
            if self.prices is not None and q.sku is not None and q.sku in self.prices:
                self.used_skus.add(q.sku)
                value = self.prices[q.sku] * q.sku_scale
            elif q.value is None:
                raise NoPlanPrice(name)
            else:
                value = q.value
        elif name in self.spec.derived:
            if name in self.stack:
                raise ExpressionError(f"derived quantities form a cycle: {' → '.join([*self.stack, name])}")
            self.stack.append(name)
            try:
                value = evaluate(self.spec.derived[name], self)
            finally:
                self.stack.pop()
        else:
            raise ExpressionError(f"unknown name {name!r}")
        self.cache[name] = value
        return value

    def skus_of(self, expr: str) -> set[str]:
        """Every catalogue SKU the expression reaches, through derived quantities too."""
        out: set[str] = set()
        todo, seen = list(expression_names(expr)), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.spec.quantities and self.spec.quantities[name].sku:
                out.add(self.spec.quantities[name].sku)  # type: ignore[arg-type]
            elif name in self.spec.derived:
                todo.extend(expression_names(self.spec.derived[name]))
        return out


# ─── the catalogue (pricing.catalogs, or pricing.catalog if that name appears) ───────────────────

CATALOG_MODULES = ("pricing.catalogs", "pricing.catalog")
NOT_WIRED = "catalogue: not wired yet"


def _catalog_module() -> Any | None:
    for name in CATALOG_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if callable(getattr(module, "load_catalog", None)) and callable(getattr(module, "price", None)):
            return module
    return None


def _quoted_price(item: Any) -> Decimal:
    """An item's price as AWS quotes it (per `per` units; the first tier when tiered)."""
    if hasattr(item, "first_usd"):
        return Decimal(item.first_usd)
    return Decimal(item.usd)


def catalog_prices(names: Iterable[str], catalog: str | Path | None = None) -> dict[str, Decimal] | None:
    """{sku: price as quoted (first tier)} from the newest catalogue snapshot (or `catalog`: a date or
    a path); None when no catalogue module with `load_catalog` and `price` can be imported, so the
    audit says "catalogue: not wired yet" instead of failing. An unknown SKU is a UserError."""
    module = _catalog_module()
    if module is None:
        return None
    loaded = module.load_catalog(catalog)
    return {sku: _quoted_price(module.price(loaded, sku)) for sku in sorted(set(names))}


def catalog_label(catalog: str | Path | None = None) -> str | None:
    """'2026-12-01 (path)' for the snapshot `catalog_prices` reads, or None when not wired."""
    module = _catalog_module()
    if module is None:
        return None
    loaded = module.load_catalog(catalog)
    snapshot = getattr(loaded, "snapshot", None)
    as_of = getattr(snapshot, "as_of", None)
    return f"{as_of or '?'} ({Path(str(getattr(loaded, 'path', '') or '?')).name})"


# ─── the report ──────────────────────────────────────────────────────────────────────────────────


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _num(value: Decimal | None) -> int | float | None:
    """A JSON number, rounded to 4 decimal places (ints stay ints)."""
    if value is None:
        return None
    q = _round(value)
    return int(q) if q == q.to_integral_value() else float(q)


def _pair(low: Decimal | None, high: Decimal | None) -> Any:
    if low is None:
        return None
    return _num(low) if high is None else [_num(low), _num(high)]


def difference(seed: tuple[Decimal, Decimal | None], recomputed: tuple[Decimal, Decimal | None]) -> tuple[
        Decimal, Decimal | None]:
    """recomputed − seed: end by end for two ranges; the distance to the range (0 inside it) when one
    side is a range and the other one number; a plain difference otherwise."""
    (s_lo, s_hi), (r_lo, r_hi) = seed, recomputed
    if s_hi is not None and r_hi is not None:
        return r_lo - s_lo, r_hi - s_hi
    if s_hi is None and r_hi is None:
        return r_lo - s_lo, None
    lo, hi, x = (s_lo, s_hi, r_lo) if s_hi is not None else (r_lo, r_hi, s_lo)
    sign = 1 if s_hi is not None else -1  # positive: the recomputation lies above the plan
    if x < lo:
        return sign * (x - lo), None
    if x > hi:  # type: ignore[operator]
        return sign * (x - hi), None  # type: ignore[operator]
    return Decimal(0), None


def tolerance(fig: Figure) -> Decimal:
    """How far a recomputation may sit from the plan's figure and still be its rounding: half a unit
    of the last digit the plan wrote, or 1 % of the figure, whichever is larger."""
    digits = fig.text.split("/")[0]
    m = re.search(r"\.(\d+)", digits.split("-")[0].split("–")[0])
    half_digit = Decimal(5) * Decimal(10) ** -(len(m.group(1)) + 1) if m else Decimal("0.5")
    return max(half_digit, abs(fig.high if fig.high is not None else fig.low) / 100)


@dataclass
class Audit:
    rows: list[dict[str, Any]]
    unaudited: list[Figure] = field(default_factory=list)
    stale: list[tuple[int, str, int]] = field(default_factory=list)  # spec keys matching no figure
    catalogue: str = NOT_WIRED


def run_audit(plan_path: str | Path | None = None, spec_path: str | Path | None = None,
              catalog: str | Path | None = None, *, use_catalogue: bool = True) -> Audit:
    plan_path = Path(plan_path) if plan_path else PLAN_PATH
    try:
        text = plan_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{plan_path}: cannot read the plan: {exc.strerror or exc}") from None
    spec = load_spec(spec_path)
    figures = extract_figures(text)
    by_key = {f.key: f for f in figures}
    entry_of: dict[tuple[int, str, int], Entry] = {}
    stale = []
    for entry in spec.entries:
        for key in entry.locations:
            if key in entry_of:
                raise UserError(f"{spec.path}: line {key[0]} {key[1]!r} (nth {key[2]}) is audited twice")
            entry_of[key] = entry
            if key not in by_key:
                stale.append(key)

    skus = sorted({q.sku for q in spec.quantities.values() if q.sku})
    prices, label = None, NOT_WIRED
    if use_catalogue:
        try:
            prices = catalog_prices(skus, catalog)
            label = (catalog_label(catalog) or NOT_WIRED) if prices is not None else NOT_WIRED
        except UserError as exc:
            if catalog is not None:  # asked for by name: a bad date or path is the user's to fix
                raise
            label = f"catalogue: unavailable ({exc})"  # the default snapshot is broken: audit the plan anyway
    plan_env = _Env(spec)
    rows, unaudited = [], []
    for fig in figures:
        entry = entry_of.get(fig.key)
        row: dict[str, Any] = {
            "claim": fig.claim, "line": fig.line, "column": fig.col + 1, "kind": fig.kind, "text": fig.text,
            "section": fig.section,
            "seed_value": _pair(fig.low, fig.high),
        }
        if entry is None:
            unaudited.append(fig)
            row.update(recomputed_value=None, catalogue_value=None, difference=None, difference_pct=None,
                       verdict="unaudited", reason=VERDICTS["unaudited"], expression=None, skus=[],
                       catalogue=label)
            rows.append(row)
            continue
        exprs = (entry.expr, None) if entry.expr else (entry.low, entry.high)
        recomputed = _evaluate_pair(exprs, plan_env)
        cat_value, used = None, sorted(set().union(*(plan_env.skus_of(e) for e in entry.expressions)))
        if prices is not None and used:
            cat_value = _evaluate_pair(exprs, _Env(spec, prices))
        diff = difference((fig.low, fig.high), recomputed) if recomputed[0] is not None else (None, None)
        pct = None
        if diff[0] is not None and diff[1] is None and fig.high is None and fig.low != 0:
            pct = _num(diff[0] / fig.low * 100)
        row.update(
            recomputed_value=_pair(*recomputed), catalogue_value=_pair(*cat_value) if cat_value else None,
            difference=_pair(*diff), difference_pct=pct, verdict=entry.verdict, reason=entry.reason,
            expression=entry.expr or (f"{entry.low} .. {entry.high}" if entry.low else None),
            skus=used, catalogue=label if used or prices is None else "no catalogue price in this figure")
        rows.append(row)
    return Audit(rows, unaudited, stale, label)


def _evaluate_pair(exprs: tuple[str | None, str | None], env: _Env) -> tuple[Decimal | None, Decimal | None]:
    lo_expr, hi_expr = exprs
    if lo_expr is None:
        return None, None
    try:
        low = evaluate(lo_expr, env)
        return low, evaluate(hi_expr, env) if hi_expr else None
    except NoPlanPrice:
        return None, None


def audit_report(plan_path: str | Path | None = None, spec_path: str | Path | None = None,
                 catalog: str | Path | None = None) -> list[dict[str, Any]]:
    """One dict per figure of the plan, in reading order: claim, line, column, kind, text, section,
    seed_value, recomputed_value (plan prices), catalogue_value (or None), difference (recomputed −
    plan), difference_pct, verdict, reason, expression, skus, catalogue. A figure the spec does not
    cover has verdict "unaudited"."""
    return run_audit(plan_path, spec_path, catalog).rows


def summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Counts by kind and by verdict."""
    out: dict[str, dict[str, int]] = {"kind": {}, "verdict": {}}
    for row in rows:
        out["kind"][row["kind"]] = out["kind"].get(row["kind"], 0) + 1
        out["verdict"][row["verdict"]] = out["verdict"].get(row["verdict"], 0) + 1
    return out
