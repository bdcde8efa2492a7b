"""ROI of the ML features: a monthly cash flow, the break-even month, gross and net ROI multiples, a seeded
Monte Carlo over uncertain inputs (P10/P50/P90) and a tornado table.

The model (inputs as data, `pricing/roi/<name>.toml`):

- The ML features add `uplift × users` subscribers in all, arriving evenly over `ramp_months`; each month a
  share `churn` of the added subscribers leaves (they are not replaced). Only these added subscribers'
  revenue counts: the base's revenue is not the ML's.
- Revenue in month m = added subscribers × `price_usd_per_user_month`.
- Cost in month m = `monthly_cost_usd` (the ML infrastructure: capacity and fixed items), plus
  `one_time_cost_usd` (training, export, testing) in month 1.
- Break-even month: the first month whose cumulative cash flow is ≥ 0 (None: not within the horizon).
- Gross ROI multiple = Σ revenue / Σ cost — what the plan calls ROI ("$40,000 / $673 = 59x").
  Net ROI multiple = (Σ revenue − Σ cost) / Σ cost. The two are always reported apart.

The deterministic cash flow and the tornado are computed in `decimal.Decimal` (money); the Monte Carlo
runs in float64 over all draws at once and its percentiles are reported as Decimal strings (cents).
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy.stats import norm

from harness.errors import UserError
from harness.tasks import distributions
from pricing.data_files import load_table

ROI_DIR = Path(__file__).resolve().parent / "roi"
CENT = Decimal("0.01")
EXTRA_KINDS = ("triangular", "normal")
UNCERTAIN_FIELDS = ("users", "price_usd_per_user_month", "uplift", "ramp_months", "churn", "monthly_cost_usd",
                    "one_time_cost_usd")
# Each field's valid range: a normal draw outside it is clipped to it (documented in the report).
BOUNDS = {"users": (0.0, math.inf), "price_usd_per_user_month": (0.0, math.inf), "uplift": (0.0, math.inf),
          "ramp_months": (1.0, math.inf), "churn": (0.0, 1.0), "monthly_cost_usd": (0.0, math.inf),
          "one_time_cost_usd": (0.0, math.inf)}
MONEY = ("price_usd_per_user_month", "monthly_cost_usd", "one_time_cost_usd")


# -- distributions --------------------------------------------------------------------------------


def validate_distribution(name: str, spec: Any) -> None:
    """harness.tasks.distributions' kinds (number, uniform, loguniform, randint, choice), plus
    `{triangular = [low, mode, high]}` and `{normal = [mean, sd]}`; ValueError naming the input otherwise."""
    if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in EXTRA_KINDS:
        ((kind, args),) = spec.items()
        if not isinstance(args, list) or not all(isinstance(a, (int, float)) and not isinstance(a, bool)
                                                 and math.isfinite(a) for a in args):
            raise ValueError(f"{name}: {kind} needs a list of finite numbers, got {args!r}")
        if kind == "triangular" and not (len(args) == 3 and args[0] <= args[1] <= args[2] and args[0] < args[2]):
            raise ValueError(f"{name}: triangular needs [low, mode, high] with low ≤ mode ≤ high, low < high, "
                             f"got {args!r}")
        if kind == "normal" and not (len(args) == 2 and args[1] > 0):
            raise ValueError(f"{name}: normal needs [mean, sd] with sd > 0, got {args!r}")
        return
    distributions.validate(name, spec)
    if isinstance(spec, dict) and "choice" in spec and not all(
            isinstance(a, (int, float)) and not isinstance(a, bool) for a in spec["choice"]):
        raise ValueError(f"{name}: an ROI input's choice must list numbers, got {spec['choice']!r}")


def sample_many(spec: Any, rng: np.random.Generator, n: int) -> np.ndarray:
    """n draws at once. For harness.tasks.distributions' kinds these are the draws its `sample` makes, in
    the same order from the same generator (tests/test_pricing_roi.py checks it)."""
    if isinstance(spec, (int, float)):
        return np.full(n, float(spec))
    ((kind, args),) = spec.items()
    if kind == "uniform":
        return rng.uniform(args[0], args[1], n)
    if kind == "loguniform":
        return np.exp(rng.uniform(math.log(args[0]), math.log(args[1]), n))
    if kind == "randint":
        return rng.integers(args[0], args[1] + 1, n).astype(float)
    if kind == "choice":
        return np.asarray(args, dtype=float)[rng.integers(len(args), size=n)]
    if kind == "triangular":
        return rng.triangular(args[0], args[1], args[2], n)
    if kind == "normal":
        return rng.normal(args[0], args[1], n)
    raise ValueError(f"unknown distribution {kind!r}")


def quantile(spec: Any, q: float) -> float:
    """The q-quantile of a distribution (the tornado's low and high are P10 and P90)."""
    if isinstance(spec, (int, float)):
        return float(spec)
    ((kind, args),) = spec.items()
    if kind == "uniform":
        return args[0] + q * (args[1] - args[0])
    if kind == "loguniform":
        return math.exp(math.log(args[0]) + q * (math.log(args[1]) - math.log(args[0])))
    if kind in ("randint", "choice"):
        values = sorted(range(args[0], args[1] + 1)) if kind == "randint" else sorted(args)
        return float(values[max(0, math.ceil(q * len(values)) - 1)])  # nearest rank
    if kind == "triangular":
        lo, mode, hi = args
        split = (mode - lo) / (hi - lo)
        if q <= split:
            return lo + math.sqrt(q * (hi - lo) * (mode - lo))
        return hi - math.sqrt((1 - q) * (hi - lo) * (hi - mode))
    if kind == "normal":
        return float(args[0] + args[1] * norm.ppf(q))
    raise ValueError(f"unknown distribution {kind!r}")


# -- inputs -----------------------------------------------------------------------------------------


class RoiInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "roi"
    description: str = ""
    source: str = ""
    months: int = Field(default=24, ge=1, le=600)
    users: float = Field(gt=0)
    price_usd_per_user_month: Decimal = Field(ge=0)
    uplift: float = Field(ge=0)
    ramp_months: int = Field(default=1, ge=1)
    churn: float = Field(default=0.0, ge=0, lt=1)
    monthly_cost_usd: Decimal = Field(ge=0)
    one_time_cost_usd: Decimal = Field(default=Decimal(0), ge=0)
    uncertain: dict[str, Any] = Field(default_factory=dict)

    @field_validator("price_usd_per_user_month", "monthly_cost_usd", "one_time_cost_usd", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Any:
        return Decimal(str(v)) if isinstance(v, (int, float, str)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _check_uncertain(self) -> RoiInputs:
        for key, spec in self.uncertain.items():
            if key not in UNCERTAIN_FIELDS:
                raise ValueError(f"uncertain.{key}: not an ROI input (inputs: {', '.join(UNCERTAIN_FIELDS)})")
            validate_distribution(f"uncertain.{key}", spec)
        return self

    def replaced(self, **values: Any) -> RoiInputs:
        data = self.model_dump()
        for key, value in values.items():
            if key in MONEY:
                value = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)
            elif key == "ramp_months":
                value = max(1, int(round(float(value))))
            data[key] = value
        return RoiInputs(**data)


def load_roi(name_or_path: str | Path) -> RoiInputs:
    return load_table(name_or_path, ROI_DIR, "roi", RoiInputs, "ROI input file")


def with_capacity_cost(inputs: RoiInputs, capacity: dict, target: str | None = None,
                       other_monthly_cost_usd: Decimal = Decimal(0)) -> RoiInputs:
    """The inputs with `monthly_cost_usd` = a capacity report's monthly cost (its cheapest target meeting the
    SLO, or `target`) + other monthly items (load balancer, storage, transfer...); the inputs' own distribution
    for the monthly cost, if any, is dropped."""
    target = target or capacity.get("cheapest_meeting_slo")
    rows = [t for t in capacity["targets"] if t["target"] == target]
    if not rows:
        raise UserError(f"capacity report {capacity.get('profile')}: no sized target {target!r}")
    cost = Decimal(rows[0]["monthly_usd"]) + Decimal(other_monthly_cost_usd)
    # The capacity report now sets the cost: the inputs' own range for it no longer applies.
    uncertain = {k: v for k, v in inputs.uncertain.items() if k != "monthly_cost_usd"}
    return inputs.replaced(monthly_cost_usd=cost, uncertain=uncertain)


# -- deterministic cash flow (Decimal) ---------------------------------------------------------------


def cash_flow(inputs: RoiInputs, months: int | None = None) -> list[dict]:
    """Month by month: added subscribers, revenue, cost, net and cumulative cash (Decimal)."""
    months = months or inputs.months
    total_new = Decimal(repr(inputs.users)) * Decimal(repr(inputs.uplift))
    per_month = total_new / inputs.ramp_months
    keep = 1 - Decimal(repr(inputs.churn))
    added, cumulative, out = Decimal(0), Decimal(0), []
    for m in range(1, months + 1):
        added = added * keep + (per_month if m <= inputs.ramp_months else 0)
        revenue = added * inputs.price_usd_per_user_month
        cost = inputs.monthly_cost_usd + (inputs.one_time_cost_usd if m == 1 else 0)
        cumulative += revenue - cost
        out.append({"month": m, "added_users": added, "revenue_usd": revenue, "cost_usd": cost,
                    "net_usd": revenue - cost, "cumulative_usd": cumulative})
    return out


def break_even_month(flow: list[dict]) -> int | None:
    return next((row["month"] for row in flow if row["cumulative_usd"] >= 0), None)


def roi_multiple(flow: list[dict]) -> dict[str, Decimal | None]:
    """Gross = Σ revenue / Σ cost (the plan's "ROI"); net = (Σ revenue − Σ cost) / Σ cost."""
    revenue = sum((r["revenue_usd"] for r in flow), Decimal(0))
    cost = sum((r["cost_usd"] for r in flow), Decimal(0))
    if cost == 0:
        return {"gross": None, "net": None}
    return {"gross": revenue / cost, "net": (revenue - cost) / cost}


def plan_style_multiple(inputs: RoiInputs) -> Decimal | None:
    """The plan's own figure: full uplift revenue in one month / monthly cost (no ramp, churn or one-time cost)."""
    if inputs.monthly_cost_usd == 0:
        return None
    revenue = Decimal(repr(inputs.users)) * Decimal(repr(inputs.uplift)) * inputs.price_usd_per_user_month
    return revenue / inputs.monthly_cost_usd


# -- Monte Carlo (float64, vectorised over draws) --------------------------------------------------------


def _vector_flow(values: dict[str, np.ndarray], months: int) -> dict[str, np.ndarray]:
    n = len(values["users"])
    ramp = np.maximum(1, np.rint(values["ramp_months"])).astype(int)
    per_month = values["users"] * values["uplift"] / ramp
    keep = 1 - values["churn"]
    added = np.zeros(n)
    revenue_total = np.zeros(n)
    cost_total = np.zeros(n)
    cumulative = np.zeros(n)
    break_even = np.full(n, np.inf)
    for m in range(1, months + 1):
        added = added * keep + np.where(m <= ramp, per_month, 0.0)
        revenue = added * values["price_usd_per_user_month"]
        cost = values["monthly_cost_usd"] + (values["one_time_cost_usd"] if m == 1 else 0.0)
        revenue_total += revenue
        cost_total += cost
        cumulative += revenue - cost
        break_even = np.where(np.isinf(break_even) & (cumulative >= 0), m, break_even)
    with np.errstate(divide="ignore", invalid="ignore"):
        gross = revenue_total / cost_total
    return {"gross_roi": gross, "net_roi": gross - 1, "cumulative_usd": cumulative, "break_even_month": break_even}


def monte_carlo(inputs: RoiInputs, draws: int = 10_000, seed: int = 0) -> dict:
    """P10/P50/P90 of the gross and net ROI multiples, the horizon's cumulative cash and the break-even month,
    over `draws` joint draws of the uncertain inputs (independent; sampled in UNCERTAIN_FIELDS order from
    one numpy Generator seeded with `seed`: the same seed gives the same result)."""
    if draws < 1:
        raise ValueError("draws must be ≥ 1")
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    clipped: dict[str, int] = {}
    for key in UNCERTAIN_FIELDS:
        base = float(getattr(inputs, key))
        if key in inputs.uncertain:
            x = sample_many(inputs.uncertain[key], rng, draws)
            lo, hi = BOUNDS[key]
            hi = np.nextafter(1.0, 0.0) if key == "churn" else hi
            out = (x < lo) | (x > hi)
            if out.any():
                clipped[key] = int(out.sum())
                x = np.clip(x, lo, hi)
            values[key] = x
        else:
            values[key] = np.full(draws, base)
    res = _vector_flow(values, inputs.months)

    def pct(x: np.ndarray) -> dict:
        p = np.percentile(x, [10, 50, 90], method="inverted_cdf")  # nearest rank: a value some draw had
        return {f"p{q}": (None if not np.isfinite(v) else float(v)) for q, v in zip((10, 50, 90), p, strict=True)}

    cash = pct(res["cumulative_usd"])
    be = res["break_even_month"]
    return {
        "draws": draws, "seed": seed, "months": inputs.months, "uncertain": dict(inputs.uncertain),
        "clipped_draws": clipped,
        "gross_roi": pct(res["gross_roi"]), "net_roi": pct(res["net_roi"]),
        "cumulative_usd": {k: (None if v is None else Decimal(repr(v)).quantize(CENT)) for k, v in cash.items()},
        "break_even_month": {k: (None if v is None else int(v)) for k, v in pct(be).items()},
        "p_break_even_within_horizon": float(np.mean(np.isfinite(be))),
        "p_net_roi_positive": float(np.mean(res["net_roi"] > 0)),
    }


# -- tornado (Decimal) -----------------------------------------------------------------------------------


def _outcome(inputs: RoiInputs) -> dict:
    flow = cash_flow(inputs)
    return {"net_roi": roi_multiple(flow)["net"], "break_even_month": break_even_month(flow),
            "cumulative_usd": flow[-1]["cumulative_usd"]}


def tornado(inputs: RoiInputs, low_q: float = 0.10, high_q: float = 0.90) -> list[dict]:
    """Each uncertain input at its P10 and P90 with every other input at its base value: the net ROI multiple,
    break-even month and cumulative cash at each end, widest swing (in net ROI) first."""
    base = _outcome(inputs)
    rows = []
    for key in [k for k in UNCERTAIN_FIELDS if k in inputs.uncertain]:
        spec = inputs.uncertain[key]
        lo_v, hi_v = quantile(spec, low_q), quantile(spec, high_q)
        lo_b, hi_b = BOUNDS[key]
        lo_v, hi_v = min(max(lo_v, lo_b), hi_b), min(max(hi_v, lo_b), hi_b)
        if key == "churn":
            lo_v, hi_v = min(lo_v, 0.999999), min(hi_v, 0.999999)
        lo, hi = _outcome(inputs.replaced(**{key: lo_v})), _outcome(inputs.replaced(**{key: hi_v}))
        swing = abs((hi["net_roi"] or 0) - (lo["net_roi"] or 0))
        rows.append({"input": key, "base": float(getattr(inputs, key)), "low": lo_v, "high": hi_v,
                     "net_roi_at_low": lo["net_roi"], "net_roi_at_high": hi["net_roi"],
                     "break_even_at_low": lo["break_even_month"], "break_even_at_high": hi["break_even_month"],
                     "cumulative_usd_at_low": lo["cumulative_usd"], "cumulative_usd_at_high": hi["cumulative_usd"],
                     "swing_net_roi": swing, "base_net_roi": base["net_roi"]})
    rows.sort(key=lambda r: -r["swing_net_roi"])
    return rows


# -- report ---------------------------------------------------------------------------------------------


def _json(x: Any, key: str = "") -> Any:
    """Decimals as strings: money (a key naming usd, or inside one) to the cent, multiples to 1e-4; ∞ as null."""
    if isinstance(x, Decimal):
        return str(x.quantize(CENT if "usd" in key else Decimal("0.0001")))
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json(v, key if "usd" in key else k) for k, v in x.items()}
    if isinstance(x, list):
        return [_json(v, key) for v in x]
    return x


def roi_report(inputs: RoiInputs | str, *, capacity: dict | None = None, capacity_target: str | None = None,
               other_monthly_cost_usd: Decimal = Decimal(0), draws: int = 10_000, seed: int = 0) -> dict:
    """Cash flow, break-even, gross and net ROI, the plan-style ratio, Monte Carlo and tornado, JSON-ready
    (money as strings to the cent, multiples to 1e-4). With a capacity report, its monthly cost (+ other
    items) replaces `monthly_cost_usd`."""
    inputs = load_roi(inputs) if isinstance(inputs, str) else inputs
    cost_from = "inputs"
    if capacity is not None:
        inputs = with_capacity_cost(inputs, capacity, capacity_target, other_monthly_cost_usd)
        cost_from = (f"capacity report {capacity.get('profile')} "
                     f"({capacity_target or capacity.get('cheapest_meeting_slo')}) + other items")
    flow = cash_flow(inputs)
    multiple = roi_multiple(flow)
    report = {
        "name": inputs.name, "description": inputs.description, "source": inputs.source,
        "inputs": inputs.model_dump(exclude={"name", "description", "source", "uncertain"}),
        "monthly_cost_from": cost_from,
        "cash_flow": flow, "break_even_month": break_even_month(flow),
        "gross_roi_multiple": multiple["gross"], "net_roi_multiple": multiple["net"],
        "plan_style_multiple": plan_style_multiple(inputs),
        "roi_definitions": {"gross": "Σ revenue / Σ cost over the horizon (the plan's 'ROI')",
                            "net": "(Σ revenue − Σ cost) / Σ cost over the horizon",
                            "plan_style": "full uplift revenue of one month / monthly cost (no ramp, churn or "
                                          "one-time cost): the plan's '$40,000 / $673 = 59x'"},
        "monte_carlo": monte_carlo(inputs, draws=draws, seed=seed) if inputs.uncertain else None,
        "tornado": tornado(inputs),
    }
    return _json(report)


__all__ = ["RoiInputs", "load_roi", "with_capacity_cost", "cash_flow", "break_even_month", "roi_multiple",
           "plan_style_multiple", "monte_carlo", "tornado", "roi_report", "validate_distribution", "sample_many",
           "quantile"]
