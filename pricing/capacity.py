"""Fleet capacity from measured latency: M/M/c (Erlang C) sizing, cross-checked by a seeded event loop.

A load profile (data, `pricing/profiles/<name>.toml`) gives the arrival rate at peak; a latency row of the
results store (`harness.store.Store.latencies()`) gives the service time per request on each target. The
fleet is the smallest number of instances c with

- utilisation A / c ≤ the profile's `max_utilisation` (A = λ / μ, the offered load in Erlangs), and
- p95 latency = p95 wait (M/M/c) + p95 service time (measured) ≤ the profile's `slo_ms`.

M/M/c waiting time (FCFS): P(W > 0) = C(c, A) (Erlang C) and P(W > t) = C(c, A) · exp(−(cμ − λ) t).
Erlang C comes from the Erlang B recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)), then
C = c·B / (c − A·(1 − B)): stable for thousands of servers, no factorials.

Adding the two p95s is the brief's criterion, not the p95 of the sum; the exponential service assumption
overstates the waiting of near-constant service times (an ONNX controller), which keeps the sizing on
the safe side. The exact M/M/c response-time p95 is reported beside it.

Money is `decimal.Decimal`: a month is 730 instance-hours (AWS's convention).
"""

from __future__ import annotations

import heapq
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import brentq
from scipy.stats import norm

from harness.errors import UserError
from pricing.data_files import load_table

HOURS_PER_MONTH = Decimal(730)
SECONDS_PER_MONTH = 730 * 3600
DAYS_PER_MONTH = 730 / 24
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
TARGETS_FILE = PROFILES_DIR / "_targets.toml"
Z95 = float(norm.ppf(0.95))
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


# -- data -----------------------------------------------------------------------------------------


class FixedServiceTime(BaseModel):
    """A service time given by the profile itself (no latency row exists for the model, e.g. Demucs)."""
    model_config = ConfigDict(extra="forbid")
    mean_s: float = Field(gt=0)
    p95_s: float = Field(gt=0)
    source: str


class LoadProfile(BaseModel):
    """Load as data. Exactly one of `requests_per_user_per_day` and `requests_per_month` is given."""
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    source: str = ""
    users: int = Field(gt=0)
    requests_per_user_per_day: float | None = Field(default=None, gt=0)
    requests_per_month_given: float | None = Field(default=None, gt=0, alias="requests_per_month")
    peak_factor: float = Field(ge=1)
    slo_ms: float = Field(gt=0, description="p95 end-to-end latency SLO (wait + service)")
    audio_seconds_per_request: float = Field(gt=0)
    max_utilisation: float = Field(default=0.8, gt=0, le=1)
    model_downloads_per_user_per_month: float = Field(default=1.0, ge=0)
    targets: list[str] = Field(default_factory=lambda: ["browser", "cpu", "t4", "a10g"])
    service_times: dict[str, FixedServiceTime] = Field(default_factory=dict)
    plan_instances: int | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> LoadProfile:
        if (self.requests_per_user_per_day is None) == (self.requests_per_month_given is None):
            raise ValueError("give exactly one of requests_per_user_per_day and requests_per_month")
        return self

    @property
    def requests_per_month(self) -> float:
        if self.requests_per_month_given is not None:
            return float(self.requests_per_month_given)
        return self.users * float(self.requests_per_user_per_day) * DAYS_PER_MONTH

    @property
    def mean_rate_per_s(self) -> float:
        return self.requests_per_month / SECONDS_PER_MONTH

    @property
    def peak_rate_per_s(self) -> float:
        return self.mean_rate_per_s * self.peak_factor

    def with_requests_per_month(self, requests: float) -> LoadProfile:
        return self.with_overrides(requests_per_month=requests)

    def with_overrides(self, *, users: int | None = None, requests_per_user_per_day: float | None = None,
                       requests_per_month: float | None = None, slo_ms: float | None = None) -> LoadProfile:
        """This profile with what a caller overrides (None keeps the profile's); a daily rate per user or a
        monthly count replaces the other, since a profile has exactly one."""
        data = self.model_dump(by_alias=True)
        if users is not None:
            data["users"] = users
        if requests_per_user_per_day is not None:
            data.update(requests_per_user_per_day=requests_per_user_per_day, requests_per_month=None)
        if requests_per_month is not None:
            data.update(requests_per_month=requests_per_month, requests_per_user_per_day=None)
        if slo_ms is not None:
            data["slo_ms"] = slo_ms
        return LoadProfile(**data)


def load_profile(name_or_path: str | Path) -> LoadProfile:
    """A profile by name (`pricing/profiles/<name>.toml`) or path; bad data raises UserError naming the file."""
    return load_table(name_or_path, PROFILES_DIR, "profile", LoadProfile, "load profile")


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml") if not p.name.startswith("_"))


def load_targets(path: Path = TARGETS_FILE) -> dict[str, dict[str, Any]]:
    """Deployment targets with their prices as Decimal (`usd_per_hour`, `cdn_usd_per_gb`)."""
    raw = tomllib.loads(Path(path).read_text())
    out = {}
    for name, t in raw.items():
        t = dict(t)
        for key in ("usd_per_hour", "cdn_usd_per_gb"):
            if key in t:
                t[key] = Decimal(str(t[key]))
        out[name] = t
    return out


# -- service time from latency rows --------------------------------------------------------------


@dataclass(frozen=True)
class ServiceTime:
    """Seconds per request on one target, and where the figure comes from."""
    target: str
    mean_s: float
    p95_s: float
    source: str  # "measured" | "projected" | "profile"
    label: str   # MEASURED | PROJECTED | PROFILE
    how: str     # the estimate, in words
    row: dict | None = None  # the latency row's identity (model, precision, recorded_at...)

    def to_json(self) -> dict:
        return asdict(self)


def lognormal_mean_s(p50_s: float, p95_s: float) -> float:
    """Mean of the lognormal through p50 and p95 (σ = ln(p95/p50) / z95): a right-skewed latency's mean is
    above its median; with p95 ≤ p50 (constant service) the mean is p50."""
    sigma = math.log(p95_s / p50_s) / Z95 if p95_s > p50_s else 0.0
    return p50_s * math.exp(sigma * sigma / 2)


def service_time_from_rows(rows: Iterable[Mapping[str, Any]], target: str, *, model: str | None = None,
                           task: str | None = None, precision: str | None = None,
                           audio_seconds: float | None = None) -> ServiceTime:
    """The newest VALID measured end_to_end row for `target` (rows on one thread first: an instance serves one
    request at a time), else the newest valid
    projected one (labelled PROJECTED: mean = projected_ms, p95 = its high band edge), else UserError.

    Measured: mean = lognormal mean through p50 and p95; p95 = the measured p95. An end_to_end row renders a
    clip of `clip_seconds`; when `audio_seconds` differs, both are scaled linearly (features and DSP are
    linear in length; the controller's part is not, so this overstates a short controller's cost)."""
    rows = [r for r in rows if r.get("hardware") == target and r.get("scope") == "end_to_end" and r.get("valid")
            and (model is None or r.get("model") == model) and (task is None or r.get("task") == task)
            and (precision is None or r.get("precision") == precision)]
    measured = [r for r in rows if r["source"] == "measured" and r.get("p50_ms") and r.get("p95_ms")]
    projected = [r for r in rows if r["source"] == "projected" and r.get("projected_ms")]
    what = " ".join(x for x in (model, task, precision) if x) or "any model"
    if measured:
        single = [r for r in measured if r.get("threads") in (None, 1)]  # one request at a time per instance
        r = max(single or measured, key=lambda r: (r.get("recorded_at") or 0, -r["p95_ms"]))
        p50, p95 = r["p50_ms"] / 1000, r["p95_ms"] / 1000
        mean, label, source = lognormal_mean_s(p50, p95), "MEASURED", "measured"
        how = (f"measured end_to_end p50 {r['p50_ms']:.3f} ms, p95 {r['p95_ms']:.3f} ms; mean = lognormal "
               f"through p50 and p95 ({mean * 1000:.3f} ms)")
    elif projected:
        r = max(projected, key=lambda r: (r.get("recorded_at") or 0, -r["projected_ms"]))
        mean = r["projected_ms"] / 1000
        p95 = (r.get("projected_high_ms") or r["projected_ms"]) / 1000
        label, source = "PROJECTED", "projected"
        band = "its high band edge" if r.get("projected_high_ms") else "no band: the figure itself"
        how = (f"PROJECTED end_to_end {r['projected_ms']:.3f} ms (device model, not measured); "
               f"p95 = {band} {p95 * 1000:.3f} ms")
    else:
        raise UserError(f"no valid end_to_end latency row for {what} on {target}: "
                        f"run `dawg-bench latency --hardware {target}` first")
    clip = r.get("clip_seconds")
    if audio_seconds and clip and abs(audio_seconds - clip) > 1e-9:
        scale = audio_seconds / clip
        mean, p95 = mean * scale, p95 * scale
        how += f"; scaled linearly from {clip:g} s clips to {audio_seconds:g} s of audio (x{scale:g})"
    ident = {k: r.get(k) for k in ("model", "task", "precision", "hardware", "source", "threads", "clip_seconds",
                                   "recorded_at", "p50_ms", "p95_ms", "projected_ms", "projected_high_ms")}
    return ServiceTime(target, mean, p95, source, label, how, ident)


# -- M/M/c ---------------------------------------------------------------------------------------


def erlang_b(c: int, offered_load: float) -> float:
    """Erlang B blocking probability by the recursion B(k) = A·B(k−1) / (k + A·B(k−1)), B(0) = 1."""
    if c < 0 or offered_load < 0:
        raise ValueError("erlang_b needs c ≥ 0 and a non-negative offered load")
    b = 1.0
    for k in range(1, c + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(c: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load A = λ/μ Erlangs (A < c)."""
    if c < 1:
        raise ValueError("erlang_c needs at least one server")
    if offered_load >= c:
        return 1.0  # unstable: every arrival waits (and the queue grows without bound)
    if offered_load <= 0:
        return 0.0
    b = erlang_b(c, offered_load)
    return c * b / (c - offered_load * (1 - b))


def mmc_wait_quantile(c: int, lam: float, mu: float, q: float) -> float:
    """q-quantile of the FCFS M/M/c waiting time: P(W > t) = C(c, A)·exp(−(cμ − λ) t); 0 when P(W > 0) ≤ 1 − q."""
    if lam >= c * mu:
        return math.inf
    p_wait = erlang_c(c, lam / mu)
    if p_wait <= 1 - q:
        return 0.0
    return math.log(p_wait / (1 - q)) / (c * mu - lam)


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    return math.inf if lam >= c * mu else erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_response_quantile(c: int, lam: float, mu: float, q: float) -> float:
    """q-quantile of the M/M/c response time T = W + S (S exponential): exact, by root finding on
    P(T > t) = (1 − C)e^{−μt} + C·P(E_θ + E_μ > t), θ = cμ − λ."""
    if lam >= c * mu:
        return math.inf
    p_wait, theta = erlang_c(c, lam / mu), c * mu - lam

    def tail(t: float) -> float:
        if abs(theta - mu) < 1e-12 * mu:
            both = (1 + mu * t) * math.exp(-mu * t)
        else:
            both = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1 - p_wait) * math.exp(-mu * t) + p_wait * both - (1 - q)

    hi = 1.0 / min(mu, theta)
    while tail(hi) > 0:
        hi *= 2
    return brentq(tail, 0.0, hi, xtol=1e-12 * hi)


@dataclass(frozen=True)
class SimResult:
    customers: int
    p_wait: float
    mean_wait_s: float
    wait_p95_s: float
    seed: int


def simulate_mmc(c: int, lam: float, mu: float, *, customers: int = 100_000, warmup: int | None = None,
                 seed: int = 0, service: str = "exponential") -> SimResult:
    """Discrete-event FCFS simulation of a c-server queue with Poisson arrivals (numpy Generator, seeded):
    each arrival takes the server that frees first and waits max(0, free − arrival). `service` is
    'exponential' (M/M/c, the cross-check) or 'deterministic' (M/D/c: near-constant model latency).
    The first `warmup` customers (default 10 %) are dropped so the queue starts near steady state."""
    if service not in ("exponential", "deterministic"):
        raise ValueError(f"service must be 'exponential' or 'deterministic', got {service!r}")
    warmup = customers // 10 if warmup is None else warmup
    n = customers + warmup
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, n)).tolist()
    services = (rng.exponential(1.0 / mu, n) if service == "exponential" else np.full(n, 1.0 / mu)).tolist()
    free = [0.0] * c  # min-heap of the times each server becomes free
    waits = np.empty(n)
    for i in range(n):
        t = arrivals[i]
        start = free[0] if free[0] > t else t
        waits[i] = start - t
        heapq.heapreplace(free, start + services[i])
    w = waits[warmup:]
    return SimResult(customers, float(np.mean(w > 0)), float(w.mean()), float(np.quantile(w, 0.95)), seed)


# -- sizing --------------------------------------------------------------------------------------


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _usd(x: Decimal, step: Decimal = CENT) -> str:
    return str(x.quantize(step))


def size_fleet(profile: LoadProfile, service: ServiceTime, usd_per_hour: Decimal, *,
               rate_per_s: float | None = None, max_instances: int = 1_000_000) -> dict:
    """The smallest fleet meeting utilisation ≤ max_utilisation and p95 wait + p95 service ≤ SLO at the
    profile's peak rate (or `rate_per_s`), with its monthly cost (always on, 730 h), cost per 1,000
    inferences and per audio-hour. When the service p95 alone exceeds the SLO no fleet meets it: the
    fleet is sized on utilisation only and `meets_slo` is False."""
    if not isinstance(usd_per_hour, Decimal):
        raise TypeError("usd_per_hour must be a decimal.Decimal (money)")
    lam = profile.peak_rate_per_s if rate_per_s is None else rate_per_s
    mu = 1.0 / service.mean_s
    load = lam / mu
    slo_s = profile.slo_ms / 1000
    c = max(1, math.ceil(load / profile.max_utilisation - 1e-12))
    if c <= load:
        c = math.floor(load) + 1
    service_fits = service.p95_s <= slo_s
    while service_fits and mmc_wait_quantile(c, lam, mu, 0.95) + service.p95_s > slo_s:
        c += 1
        if c > max_instances:
            raise UserError(f"{service.target}: more than {max_instances} instances needed; check the profile")
    wait_p95 = mmc_wait_quantile(c, lam, mu, 0.95)
    monthly = Decimal(c) * HOURS_PER_MONTH * usd_per_hour
    requests = _dec(profile.requests_per_month)
    audio_hours = requests * _dec(profile.audio_seconds_per_request) / 3600
    reason = "" if service_fits else (f"service p95 {service.p95_s * 1000:.1f} ms alone exceeds the SLO "
                                      f"{profile.slo_ms:g} ms: no fleet size meets it")
    return {
        "target": service.target, "kind": "server", "instances": c,
        "arrival_rate_per_s": lam, "offered_load_erlangs": load, "utilisation": load / c,
        "p_wait": erlang_c(c, load), "mean_wait_s": mmc_mean_wait(c, lam, mu),
        "wait_p95_s": wait_p95, "service_mean_s": service.mean_s, "service_p95_s": service.p95_s,
        "latency_p95_s": wait_p95 + service.p95_s, "mmc_response_p95_s": mmc_response_quantile(c, lam, mu, 0.95),
        "slo_ms": profile.slo_ms, "meets_slo": service_fits, "reason": reason,
        "usd_per_hour": usd_per_hour, "monthly_usd": monthly,
        "usd_per_1000_inferences": monthly / requests * 1000,
        "usd_per_audio_hour": monthly / audio_hours,
        "service_time": service.to_json(),
    }


def browser_cost(profile: LoadProfile, model_bytes: int, cdn_usd_per_gb: Decimal,
                 client: ServiceTime | None = None, client_latency_factor: float = 1.0) -> dict:
    """No server compute: the cost is CDN delivery of the model (bytes × downloads a month × $/GB, 1 GB = 1e9
    bytes). The latency is the client's own (no queue): the `client` row × `client_latency_factor`."""
    downloads = Decimal(profile.users) * _dec(profile.model_downloads_per_user_per_month)
    gb = Decimal(int(model_bytes)) * downloads / Decimal(10**9)
    monthly = gb * cdn_usd_per_gb
    requests = _dec(profile.requests_per_month)
    audio_hours = requests * _dec(profile.audio_seconds_per_request) / 3600
    out = {"target": "browser", "kind": "browser", "instances": 0, "model_bytes": int(model_bytes),
           "downloads_per_month": downloads, "cdn_gb_per_month": gb, "cdn_usd_per_gb": cdn_usd_per_gb,
           "monthly_usd": monthly, "usd_per_1000_inferences": monthly / requests * 1000,
           "usd_per_audio_hour": monthly / audio_hours, "slo_ms": profile.slo_ms}
    if client is None:
        return {**out, "latency_p95_s": None, "meets_slo": False, "reason": "no client latency row"}
    p95 = client.p95_s * client_latency_factor
    meets = p95 * 1000 <= profile.slo_ms
    return {**out, "latency_p95_s": p95, "wait_p95_s": 0.0, "service_p95_s": p95, "meets_slo": meets,
            "client_latency_factor": client_latency_factor,
            "reason": "" if meets else f"client p95 {p95 * 1000:.1f} ms exceeds the SLO {profile.slo_ms:g} ms",
            "service_time": {**client.to_json(), "how": client.how + f"; browser proxy: x{client_latency_factor:g} "
                             "(not measured in a browser)"}}


def cheapest_target(results: Iterable[Mapping[str, Any]]) -> str | None:
    """The target with the lowest monthly cost among those meeting the SLO (None when none does)."""
    ok = [r for r in results if r.get("meets_slo") and r.get("monthly_usd") is not None]
    return min(ok, key=lambda r: r["monthly_usd"])["target"] if ok else None


def _jsonable(x: Any, key: str = "") -> Any:
    """Decimals as strings: monthly amounts to the cent, unit prices and rates to 1e-6; ∞ as null."""
    if isinstance(x, Decimal):
        return _usd(x, CENT if "monthly" in key else MICRO)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _jsonable(v, k) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v, key) for v in x]
    return x


def capacity_report(profile: LoadProfile | str, latency_rows: Iterable[Mapping[str, Any]] = (), *,
                    model: str | None = None, task: str | None = None, precision: str | None = None,
                    targets: list[str] | None = None, prices: Mapping[str, Decimal] | None = None,
                    model_bytes: int | None = None, simulate: bool = True, sim_customers: int = 200_000,
                    seed: int = 0) -> dict:
    """Size every target of the profile; JSON-ready (Decimals as strings, ∞ as null).

    Service times: the profile's own (`service_times`) where given, else the latency rows. `prices`
    overrides `_targets.toml` per target (USD per instance-hour; per GB for the browser). A target without
    a usable row is listed under `unavailable` with the reason. `simulate` cross-checks each fleet with
    `simulate_mmc` at the chosen size (`sim_customers`, seeded)."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    rows = list(latency_rows)
    catalogue = load_targets()
    prices = dict(prices or {})
    results: list[dict] = []
    unavailable: dict[str, str] = {}
    for name in targets or profile.targets:
        if name not in catalogue:
            unavailable[name] = f"unknown target (known: {', '.join(catalogue)})"
            continue
        spec = catalogue[name]
        try:
            if spec["kind"] == "browser":
                if model_bytes is None:
                    raise UserError("browser: the model size is needed (model_bytes)")
                client = service_time_from_rows(rows, spec.get("latency_from", "cpu"), model=model, task=task,
                                                precision=precision, audio_seconds=profile.audio_seconds_per_request)
                res = browser_cost(profile, model_bytes, Decimal(prices.get(name, spec["cdn_usd_per_gb"])), client,
                                   float(spec.get("client_latency_factor", 1.0)))
            else:
                if name in profile.service_times:
                    fixed = profile.service_times[name]
                    service = ServiceTime(name, fixed.mean_s, fixed.p95_s, "profile", "PROFILE",
                                          f"from the load profile: {fixed.source}")
                else:
                    service = service_time_from_rows(rows, name, model=model, task=task, precision=precision,
                                                     audio_seconds=profile.audio_seconds_per_request)
                price = Decimal(prices.get(name, spec["usd_per_hour"]))
                res = size_fleet(profile, service, price)
                avg = size_fleet(profile, service, price, rate_per_s=profile.mean_rate_per_s)
                res["at_average_load"] = {k: avg[k] for k in ("instances", "utilisation", "monthly_usd", "meets_slo")}
                res["aws_instance"] = spec.get("aws_instance")
                if simulate:
                    lam, mu, c = res["arrival_rate_per_s"], 1 / service.mean_s, res["instances"]
                    sim = simulate_mmc(c, lam, mu, customers=sim_customers, seed=seed)
                    res["simulation"] = {**asdict(sim), "erlang_c_p_wait": res["p_wait"],
                                         "erlang_c_wait_p95_s": res["wait_p95_s"]}
            res["price_source"] = spec.get("price_source", "")
            if name in prices:
                res["price_source"] = "given by the caller"
            results.append(res)
        except UserError as exc:
            unavailable[name] = str(exc)
    if not results:
        raise UserError(f"profile {profile.name}: no target could be sized: "
                        + "; ".join(f"{k}: {v}" for k, v in unavailable.items()))
    report = {
        "profile": profile.name, "description": profile.description, "source": profile.source,
        "users": profile.users, "requests_per_month": profile.requests_per_month,
        "mean_rate_per_s": profile.mean_rate_per_s, "peak_rate_per_s": profile.peak_rate_per_s,
        "peak_factor": profile.peak_factor, "slo_ms": profile.slo_ms, "slo_percentile": 95,
        "max_utilisation": profile.max_utilisation, "hours_per_month": int(HOURS_PER_MONTH),
        "targets": results, "unavailable": unavailable, "cheapest_meeting_slo": cheapest_target(results),
        "model": "M/M/c (Erlang C) at the peak rate; p95 latency = M/M/c p95 wait + service p95; "
                 "fleet always on (730 h/month)",
    }
    if profile.plan_instances is not None:  # the plan's fleet at this profile's average load
        n = profile.plan_instances
        checks = {}
        for r in results:
            if r["kind"] == "server":
                avg_load = r["offered_load_erlangs"] / profile.peak_factor
                checks[r["target"]] = {"offered_load_at_average_erlangs": avg_load,
                                       "utilisation_at_average": avg_load / n, "stable": avg_load < n,
                                       "instances_needed_at_peak": r["instances"],
                                       "instances_needed_at_average": r["at_average_load"]["instances"]}
        report["plan_check"] = {"plan_instances": n, "targets": checks}
    return _jsonable(report)


__all__ = ["LoadProfile", "FixedServiceTime", "ServiceTime", "SimResult", "load_profile", "profile_names",
           "load_targets", "service_time_from_rows", "lognormal_mean_s", "erlang_b", "erlang_c",
           "mmc_wait_quantile", "mmc_mean_wait", "mmc_response_quantile", "simulate_mmc", "size_fleet",
           "browser_cost", "cheapest_target", "capacity_report", "HOURS_PER_MONTH"]
