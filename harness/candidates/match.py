"""`match`: classic DSP matching — what a competent engineer's "match EQ" + "match dynamics" does.

It learns only from the training split (`fit`): one average target curve per task, the shrinkage
of its corrections and the targets' typical crest factor; everything else comes from measurement
and search on the query. It never uses the corpus generator's settings.

EQ (task `eq`; also the EQ stage of `mastering`)
  Target curve: the mean loudness-normalised 1/3-octave tonal balance (`tonal_balance_db`, each
  clip's mean band level subtracted) of the training split's *targets* (`fit`), with its per-band
  standard deviation as the "natural spread". For a task with a reference (mastering
  reference_based) the target curve is the reference's own, with spread sqrt(2) x the training
  spread (a difference of two songs, not of a song and a mean). Without `fit`, the generic curve
  below (GENERIC_CURVE) and a 3 dB spread.
  Difference d_b = input_b - target_b over the bands with content (within 60 dB of the loudest,
  31.5 Hz-16 kHz), level-aligned by its *median* (an EQ move lifts a few bands; the median
  stays on the untouched ones, so boosts are answered by cuts, not by lifting everything else);
  shrunk toward 0 by the spread: d'_b = sign(d_b) min(max(|d_b| - k spread_b, 0), 6 dB) (soft
  threshold: a difference within k natural spreads is taken to be the song, not a fault; at most
  6 dB of correction per band). k is chosen by `fit` from {1, 1.5, 2, 2.5, 3} as the value whose
  corrections leave the *training* examples' tonal balance closest to their targets (ties to the
  larger k); before `fit`, k = 2 (the classic 2-sigma outlier rule).
  Fit: `eq_fit.EqFitter` — the 6 bands' band-averaged dB responses against -d', ridge-regularised
  least squares (gains, linear), peaks placed greedily at the largest residual, then 3
  Levenberg-Marquardt (damped Gauss-Newton) steps over gains, frequencies and Qs; gains under
  0.3 dB zeroed; everything clipped to the renderer's ranges.

Compressor (task `compressor`)
  As DeepAFx-ST's rule-based baseline (Steinmetz et al. 2022, `BaslineComp`: lower the threshold
  until the peak-normalised loudness matches the reference's, i.e. match its peak-to-loudness
  ratio), extended to the ratio: grid over threshold (0 to -36 dB below the input's sample peak,
  1.5 dB steps) x ratio {2, 4, 8}, knee 6 dB, attack 10 ms, release 100 ms (the renderer's
  defaults). Each setting is rendered and measured; the pick minimises the squared error in
  crest factor (peak/RMS, dB) plus that in "density" (the 95th-percentile minus the median
  level of 50 ms RMS frames, dB). Makeup = LUFS(reference) - LUFS(rendered).

Mastering (task `mastering`)
  EQ: match EQ as above (training-target curve for reference_free, the reference's curve for
  reference_based). Compressor (2:1, knee 6 dB, attack 30 ms, release 200 ms — a bus-glue
  default): reference_based — threshold searched in {L+12, L+8, ..., L-8} (L = post-EQ
  loudness) for the full chain's crest factor closest to the reference's (each candidate
  rendered through makeup and limiter at the target loudness); reference_free — the same search
  aimed at the median crest factor of the training split's targets (learned in `fit`; without it
  the glue stage stays open). Makeup brings the
  output to `query.target_lufs`, with the true-peak limiter at `query.ceiling_dbtp`; the gain is
  corrected by the measured loudness after limiting (secant corrections, at most 6, within 0.05 LU).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.candidates.base import PerTaskCandidate, Prediction
from harness.candidates.eq_fit import EqFitter
from harness.candidates.loudness_targeting import MAKEUP_RANGE_DB, to_loudness
from harness.candidates.safe_meters import Curve, crest_db, curve, finite_audio, loudness_db
from harness.dsp import EQ, Compressor, MasteringChain, TruePeakLimiter
from harness.loudness_target import LoudnessTarget
from harness.tasks.base import Example, Query

DEFAULT_SPREAD_DB = 3.0
SHRINK_SPREADS = 2.0  # before `fit`: differences within 2 natural spreads (the 2-sigma rule) are the song
SHRINK_CHOICES = (1.0, 1.5, 2.0, 2.5, 3.0)  # `fit` picks one on the training split
CAP_DB = 6.0  # at most 6 dB of correction per band beyond that
EDGE_WEIGHT = 0.5  # bands below 50 Hz and above 12.5 kHz: few bins / little energy, half weight


def generic_curve_db(centres_hz: np.ndarray) -> np.ndarray:
    """Fallback target when `fit` was never called: pink (flat per 1/3 octave) from 60 Hz to 2 kHz,
    -3 dB/octave above 2 kHz and -3 dB/octave below 60 Hz — the long-term average of commercial
    music is close to pink with a steeper top-end roll-off (Pestana et al., "Spectral
    characteristics of popular commercial recordings 1950-2010", AES 135, 2013)."""
    f = np.asarray(centres_hz, dtype=np.float64)
    c = np.where(f > 2000.0, -3.0 * np.log2(f / 2000.0), 0.0)
    return c + np.where(f < 60.0, -3.0 * np.log2(60.0 / f), 0.0)


@dataclass(frozen=True)
class TargetCurve:
    centres_hz: np.ndarray
    mean_db: np.ndarray
    spread_db: np.ndarray
    count: int


def learn_curve(curves: Sequence[Curve]) -> TargetCurve | None:
    """Per-band mean and std of loudness-normalised curves (bands valid in at least half of them)."""
    by_band: dict[float, list[float]] = defaultdict(list)
    for c in curves:
        for f, v, ok in zip(c.centres_hz, c.levels_db, c.valid):
            if ok:
                by_band[float(f)].append(float(v))
    keep = sorted(f for f, vals in by_band.items() if len(vals) >= max(1, len(curves) / 2))
    if len(keep) < 3:
        return None
    mean = np.array([np.mean(by_band[f]) for f in keep])
    spread = np.array([np.std(by_band[f]) if len(by_band[f]) > 1 else DEFAULT_SPREAD_DB for f in keep])
    mean -= mean.mean()
    return TargetCurve(np.array(keep), mean, spread, len(curves))


def match_eq(audio: np.ndarray, sr: float, target: TargetCurve, *, spread_scale: float = 1.0,
             shrink: float = SHRINK_SPREADS, cap_db: float = CAP_DB, audio_curve: Curve | None = None) -> EQ:
    """The EQ moving `audio`'s tonal balance toward `target` (see the module docstring). `audio_curve`:
    curve(audio, sr) when the caller has it already (choose_shrink tries five shrinkages per clip)."""
    c = audio_curve if audio_curve is not None else curve(audio, sr)
    if c is None:
        return EQ()
    lookup = {float(f): i for i, f in enumerate(target.centres_hz)}
    idx = np.array([lookup.get(float(f), -1) for f in c.centres_hz])
    ok = c.valid & (idx >= 0)
    if ok.sum() < 3:
        return EQ()
    tgt = np.where(idx >= 0, target.mean_db[np.maximum(idx, 0)], 0.0)
    spread = np.where(idx >= 0, target.spread_db[np.maximum(idx, 0)], DEFAULT_SPREAD_DB) * spread_scale
    d = c.levels_db - tgt
    d = d - np.median(d[ok])
    shrunk = np.sign(d) * np.minimum(np.maximum(np.abs(d) - shrink * spread, 0.0), cap_db)
    weights = np.where(ok, 1.0, 0.0)
    edges = (c.centres_hz < 50.0) | (c.centres_hz > 12500.0)
    weights = np.where(edges, weights * EDGE_WEIGHT, weights)
    want = np.where(ok, -shrunk, 0.0)
    if not np.any(np.abs(want) > 0.25):
        return EQ()
    return EqFitter(c.centres_hz, sr).fit(want, weights)


def shrink_errors(train: Sequence[Example], target: TargetCurve) -> list[list[float | None]]:
    """Per training example, the tonal_balance_error_db that match EQ at each SHRINK_CHOICES leaves
    (None where unmeasurable); examples whose target has no tonal balance are left out. What does not
    depend on the shrinkage is measured once per example: the input's curve and the target's side of
    the tonal distance (distance_against computes exactly tonal_balance_error_db)."""
    from harness.metrics import Unmeasurable
    from harness.metrics.distances import distance_against

    out = []
    for ex in train:
        sr = ex.query.sample_rate
        x = finite_audio(ex.query.audio)
        try:
            error_of = distance_against("tonal_balance_error_db", ex.target, sr)
        except Unmeasurable:  # the target has no tonal balance: no shrinkage can be judged on it
            continue
        x_curve = curve(x, sr)
        errors: list[float | None] = []
        for shrink in SHRINK_CHOICES:
            try:
                errors.append(error_of(match_eq(x, sr, target, shrink=shrink, audio_curve=x_curve).render(x, sr)))
            except Unmeasurable:
                errors.append(None)
        out.append(errors)
    return out


def pick_shrink(errors: Sequence[Sequence[float | None]]) -> float:
    """The shrinkage with the lowest median error over the examples that measured it; ties go to the
    larger shrinkage (the more cautious one)."""
    scores: list[tuple[float, float]] = []
    for i, shrink in enumerate(SHRINK_CHOICES):
        measured = [e[i] for e in errors if e[i] is not None]
        if measured:
            scores.append((float(np.median(measured)), -shrink))
    return -min(scores)[1] if scores else SHRINK_SPREADS


def choose_shrink(train: Sequence[Example], target: TargetCurve) -> float:
    """The shrinkage (in natural spreads) whose match EQ leaves the training examples' tonal balance
    closest to their targets (median tonal_balance_error_db); ties go to the larger shrinkage (the
    more cautious one). Seen: training examples only, never the test split."""
    return pick_shrink(shrink_errors(train, target))


# -- compressor matching ----------------------------------------------------------------------


def density_db(audio: np.ndarray, sr: float) -> float | None:
    """95th percentile minus median of 50 ms RMS frame levels (dB) over frames above -70 dBFS."""
    x = finite_audio(audio)
    hop = max(1, int(0.05 * sr))
    frames = x.shape[1] // hop
    if frames < 4:
        return None
    power = np.mean(x[:, : frames * hop].reshape(x.shape[0], frames, hop) ** 2, axis=(0, 2))
    level = 10.0 * np.log10(power + 1e-30)
    level = level[level > -70.0]
    if len(level) < 4:
        return None
    return float(np.percentile(level, 95) - np.median(level))


COMP_RATIOS = (2.0, 4.0, 8.0)
COMP_THRESHOLD_SPAN_DB = 36.0
COMP_THRESHOLD_STEP_DB = 1.5
COMP_FIXED = dict(knee_db=6.0, attack_ms=10.0, release_ms=100.0)


def match_compressor(audio: np.ndarray, reference: np.ndarray | None, sr: float) -> Compressor:
    x = finite_audio(audio)
    if reference is None:
        return Compressor(threshold_db=0.0, ratio=1.0, makeup_db=0.0)
    ref = finite_audio(reference)
    crest_ref, dens_ref = crest_db(ref, sr), density_db(ref, sr)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if crest_ref is None or peak <= 0.0:
        return (Compressor(threshold_db=0.0, ratio=1.0))
    peak_db = 20.0 * math.log10(peak)
    best: tuple[float, Compressor] | None = None
    base_crest, base_dens = crest_db(x, sr), density_db(x, sr)
    if base_crest is not None:
        err = (base_crest - crest_ref) ** 2 + (
            (base_dens - dens_ref) ** 2 if base_dens is not None and dens_ref is not None else 0.0
        )
        best = (err, Compressor(threshold_db=0.0, ratio=1.0, **COMP_FIXED))
    steps = int(COMP_THRESHOLD_SPAN_DB / COMP_THRESHOLD_STEP_DB) + 1
    for ratio in COMP_RATIOS:
        for k in range(steps):
            t = Compressor.spec("threshold_db").clip(peak_db - k * COMP_THRESHOLD_STEP_DB)
            comp = Compressor(threshold_db=t, ratio=ratio, **COMP_FIXED)
            y = comp.render(x, sr)
            c, dn = crest_db(y, sr), density_db(y, sr)
            if c is None:
                continue
            err = (c - crest_ref) ** 2 + ((dn - dens_ref) ** 2 if dn is not None and dens_ref is not None else 0.0)
            if best is None or err < best[0]:
                best = (err, comp)
    chosen = best[1] if best is not None else Compressor(threshold_db=0.0, ratio=1.0, **COMP_FIXED)
    ref_level, out_level = loudness_db(ref, sr), loudness_db(chosen.render(x, sr), sr)
    makeup = ref_level - out_level if ref_level is not None and out_level is not None else 0.0
    params = chosen.to_dict()
    params["makeup_db"] = Compressor.spec("makeup_db").clip(makeup)
    return Compressor.from_dict(params).clipped()


# -- mastering --------------------------------------------------------------------------------

GLUE_SETTINGS = dict(ratio=2.0, knee_db=6.0, attack_ms=30.0, release_ms=200.0)
REF_THRESHOLD_OFFSETS_DB = (12.0, 8.0, 4.0, 0.0, -4.0, -8.0)
NO_COMPRESSION_OFFSET_DB = 60.0  # threshold far above the programme: the glue stage passes the mix through


def _chain(eq: EQ, threshold_db: float, makeup_db: float, ceiling_dbtp: float) -> MasteringChain:
    return (MasteringChain(
        eq=eq,
        compressor=Compressor(threshold_db=Compressor.spec("threshold_db").clip(threshold_db),
                              makeup_db=Compressor.spec("makeup_db").clip(makeup_db), **GLUE_SETTINGS),
        limiter=TruePeakLimiter(ceiling_dbtp=TruePeakLimiter.spec("ceiling_dbtp").clip(ceiling_dbtp)),
    )).clipped()


def _finish(x: np.ndarray, sr: float, eq: EQ, threshold_db: float, target_lufs: float, ceiling_dbtp: float,
            refinements: int = 6) -> MasteringChain:
    pre = eq.render(x, sr)
    comp = Compressor(threshold_db=Compressor.spec("threshold_db").clip(threshold_db), makeup_db=0.0,
                      **GLUE_SETTINGS).render(pre, sr)
    level = loudness_db(comp, sr)
    if level is None:
        return _chain(eq, threshold_db, 0.0, ceiling_dbtp)
    limiter = TruePeakLimiter(ceiling_dbtp=TruePeakLimiter.spec("ceiling_dbtp").clip(ceiling_dbtp))
    gain = to_loudness(lambda g: limiter.render(comp * 10 ** (g / 20), sr), sr, target_lufs, target_lufs - level,
                       MAKEUP_RANGE_DB, refinements=refinements)
    return _chain(eq, threshold_db, gain, ceiling_dbtp)


def match_mastering(query: Query, eq: EQ, learned_crest_db: float | None = None) -> MasteringChain:
    """EQ, then a glue compressor whose threshold makes the output's crest factor match the
    reference's (reference_based) or the training targets' median (reference_free, learned in
    `fit`; without it the glue stage stays open), then loudness onto the target."""
    sr = query.sample_rate
    x = finite_audio(query.audio)
    target, ceiling = LoudnessTarget.of(query).lufs, LoudnessTarget.of(query).ceiling_dbtp
    level = loudness_db(eq.render(x, sr), sr)
    if level is None:
        return _chain(eq, 0.0, 0.0, ceiling)
    threshold = level + NO_COMPRESSION_OFFSET_DB
    crest_ref = crest_db(finite_audio(query.reference), sr) if query.reference is not None else learned_crest_db
    if crest_ref is not None:
        best: tuple[float, float] | None = None
        for off in REF_THRESHOLD_OFFSETS_DB:
            chain = _finish(x, sr, eq, level + off, target, ceiling, refinements=1)
            c = crest_db(chain.render(x, sr), sr)
            if c is not None and (best is None or abs(c - crest_ref) < best[0]):
                best = (abs(c - crest_ref), level + off)
        if best is not None:
            threshold = best[1]
    return _finish(x, sr, eq, threshold, target, ceiling)


class Match(PerTaskCandidate):
    name = "match"
    kind = "baseline"
    description = ("classic DSP matching: match EQ to the training/reference curve, crest-matched compressor, "
                   "loudness-targeted limiter")

    def __init__(self) -> None:
        self.curves: dict[str, TargetCurve] = {}
        self.shrink: dict[str, float] = {}
        self.crest_db: dict[str, float] = {}

    # Fitted in two rounds (Candidate.fit_rounds): the targets' curves and crest factors, then, with the
    # learned curves, each training example's error at each shrinkage.
    fit_rounds = 2

    def fit(self, train: Sequence[Example]) -> None:
        """Learn from the training split only: each task's mean target curve and natural spread, the
        shrinkage (in spreads) that best repairs the training examples' tonal balance, and the
        targets' median crest factor (what reference-free mastering aims its glue stage at)."""
        self.fit_in_rounds(train)

    def fit_round(self, round_index: int, train: Sequence[Example]) -> list:
        if round_index == 0:  # per example: (task, target curve, target crest factor)
            return [(ex.query.task, curve(ex.target, ex.query.sample_rate), crest_db(ex.target, ex.query.sample_rate))
                    for ex in train]
        # per task with a learned curve: each of its examples' errors at each shrinkage
        by_task: dict[str, list[Example]] = defaultdict(list)
        for ex in train:
            if ex.query.task in self.curves:
                by_task[ex.query.task].append(ex)
        return [(task, shrink_errors(examples, self.curves[task])) for task, examples in by_task.items()]

    def fit_merge(self, round_index: int, parts: Sequence[list]) -> None:
        if round_index == 0:
            by_task: dict[str, list[Curve]] = defaultdict(list)
            crests: dict[str, list[float]] = defaultdict(list)
            for task, target_curve, crest in (item for part in parts for item in part):
                if target_curve is not None:
                    by_task[task].append(target_curve)
                if crest is not None:
                    crests[task].append(crest)
            self.curves = {}
            for task, curves in by_task.items():
                learned = learn_curve(curves)
                if learned is not None:
                    self.curves[task] = learned
            self.crest_db = {task: float(np.median(v)) for task, v in crests.items()}
            return
        errors: dict[str, list[list[float | None]]] = defaultdict(list)
        for task, task_errors in (item for part in parts for item in part):
            errors[task].extend(task_errors)
        # a task with a learned curve but no example that could judge a shrinkage gets the default,
        # as choose_shrink gives it
        self.shrink = {task: pick_shrink(errors.get(task, [])) for task in self.curves}

    def target_curve(self, task: str) -> TargetCurve:
        if task in self.curves:
            return self.curves[task]
        if self.curves:  # fitted on another task: any learned curve beats the generic one
            return next(iter(self.curves.values()))
        from harness.metrics.spectral import ISO_266_THIRD_OCTAVE_HZ

        centres = np.asarray(ISO_266_THIRD_OCTAVE_HZ)
        g = generic_curve_db(centres)
        return TargetCurve(centres, g - g.mean(), np.full(len(centres), DEFAULT_SPREAD_DB), 0)

    def predictors(self) -> dict[str, Callable[[Query], Prediction]]:
        return {"eq": self._eq, "compressor": self._compressor, "mastering": self._mastering}

    def _eq(self, query: Query) -> Prediction:
        return Prediction(params=match_eq(finite_audio(query.audio), query.sample_rate, self.target_curve("eq"),
                                          shrink=self.shrink.get("eq", SHRINK_SPREADS)))

    def _compressor(self, query: Query) -> Prediction:
        return Prediction(params=match_compressor(finite_audio(query.audio), query.reference, query.sample_rate))

    def _mastering(self, query: Query) -> Prediction:
        sr = query.sample_rate
        x = finite_audio(query.audio)
        learned = self.target_curve("mastering")
        shrink = self.shrink.get("mastering", SHRINK_SPREADS)
        if query.reference is not None and (ref := curve(query.reference, sr)) is not None:
            spread = np.array([learned.spread_db[list(learned.centres_hz).index(f)] if f in learned.centres_hz
                               else DEFAULT_SPREAD_DB for f in ref.centres_hz])
            target = TargetCurve(ref.centres_hz[ref.valid], ref.levels_db[ref.valid], spread[ref.valid], 1)
            eq = match_eq(x, sr, target, spread_scale=math.sqrt(2.0), shrink=shrink)
        else:
            eq = match_eq(x, sr, learned, shrink=shrink)
        return Prediction(params=match_mastering(query, eq, self.crest_db.get("mastering")))
