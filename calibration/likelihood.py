"""The multi-area observation model: what a published figure is, given the model's expected value.

For area a, statistic s (on its noise scale: years, log rate, logit share):

    y[a,s] = m[a,s](theta) + offset[kind] + (trend_boroughs + trend[a,sex]) * (t - 2010.5) / 10 + level[a,kind,sex]
             + noise[a,s]

(the trend terms for HLE only; England has neither `trend_boroughs` nor area terms)

* m is the emulated expected outcome of the area's arm (the Deal for Wigan, business as usual for the others);
* the reference area (the England-average borough) has no area terms: it pins the shared parameters' level;
* `trend_boroughs` (`trend_hle_boroughs`) is the boroughs' common HLE trend beyond England's: the area trends are
  deviations from it, so the controls' shared trend, not England's, is the counterfactual for Wigan's;
* area terms are random effects, level ~ N(0, tau_level^2) per kind (and sex), trend ~ N(0, tau_trend^2) for HLE,
  integrated out analytically: each area's figures are jointly Gaussian with covariance
      Sigma = noise + emulator error + sum_k tau_k^2 z_k z_k'
  (the emulator's error counts twice: as one shift per series, sex and area, and as independent noise per period);
  so the controls' own departures set the taus, and Wigan's departure after the Deal is judged against them;
  this is the difference-in-differences inside the likelihood;
* noise is the published statistic's: HLE and LE with their ONS sampling error, 3-year periods sharing k years
  correlated k/3 (they pool the same annual surveys or deaths); ASCOF 2A(2) Poisson on the admissions count plus
  recording noise; 2B(1) and care quality on the logit scale (so every predictive share stays inside 0-1);
  delayed transfers on the log scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .area_targets import AreaTargets, Obs
from .emulator import Emulator

__all__ = ["Block", "build_blocks", "block_moments", "log_likelihood", "T0", "HYPER", "OFFSETS", "ENGLAND_COUNCILS"]

T0 = 2010.5  # the trend terms count from the baseline period 2009-11
HYPER = ("tau_hle_level", "tau_hle_trend", "tau_le_level", "tau_2a2_level", "tau_2b1_level", "tau_dtoc_level",
         "sigma_2a2", "sigma_2b1", "sigma_dtoc")
OFFSETS = ("offset_2b1", "offset_hle_revised", "trend_hle_boroughs")
ENGLAND_COUNCILS = 150  # England's ASCOF figures average about 150 councils' (their recording noise averages out)


@dataclass
class Block:
    """One area's figures in one fit, with everything about their covariance that does not depend on parameters."""

    area: str
    arm: str
    reference: bool
    obs: list[Obs]
    y: np.ndarray
    idx: np.ndarray                      # columns of the arm's emulator
    base: np.ndarray                     # fixed noise covariance (k x k)
    z: dict[str, np.ndarray] = field(default_factory=dict)    # hyper name -> design vectors (list of k-vectors)
    diag: dict[str, np.ndarray] = field(default_factory=dict)  # hyper name -> diagonal multipliers (k)
    offset: dict[str, np.ndarray] = field(default_factory=dict)  # offset name -> its multiplier per figure


def _overlap(a: Obs, b: Obs) -> float:
    """Correlation of two 3-year pooled periods' sampling errors: shared years / 3."""
    if a.sex != b.sex or a.series != b.series or a.kind not in ("hle", "le"):
        return 0.0
    return max(0, 3 - abs(a.first_year - b.first_year)) / 3.0


def build_blocks(targets: AreaTargets, obs: list[Obs], arms: dict[str, str], emulators: dict[str, Emulator]) -> list[Block]:
    """Group the selected figures by area; `arms` maps each area to the arm whose emulator predicts it (areas not
    in `arms` are left out). Figures whose statistic the emulator lacks are dropped (none should be)."""
    blocks = []
    for area, arm in arms.items():
        emu = emulators[arm]
        mine = [o for o in obs if o.area == area and o.stat in emu.names]
        if not mine:
            continue
        info = targets.areas[area]
        ref = info.reference
        k = len(mine)
        y = np.array([o.y for o in mine])
        base = np.zeros((k, k))
        for i, a in enumerate(mine):
            s = targets.series[a.series]
            if a.kind in ("hle", "le"):
                sd = s.sd.england if ref else s.sd.borough
                for j, b in enumerate(mine):
                    base[i, j] = sd * sd * _overlap(a, b) if a.kind == b.kind else 0.0
            elif a.kind == "2a2":
                count = a.raw * info.population_65plus / 1e5
                base[i, i] = 1.0 / max(count, 1.0)
            elif a.kind == "quality":
                p = min(max(a.raw, 0.01), 0.99)
                base[i, i] = 1.0 / (s.homes * p * (1 - p))
        emu_idx = np.array(emu.index([o.stat for o in mine]))
        # Emulator error, counted twice on purpose: once as a shift of the whole series (a quadratic that is off at
        # one period is off the same way at the next, which matters for levels) and once as independent noise per
        # period (which matters for changes between periods). Either alone made the posterior overconfident.
        e = np.sqrt(emu.err_var[emu_idx])
        group = [(o.series, o.sex) for o in mine]
        same = np.array([[gi == gj for gj in group] for gi in group], dtype=float)
        base = base + same * np.outer(e, e) + np.diag(e * e)
        b = Block(area, arm, ref, mine, y, emu_idx, base)
        kinds = np.array([o.kind for o in mine])
        scale = 1.0 / ENGLAND_COUNCILS if ref else 1.0
        for kind, name in (("2a2", "sigma_2a2"), ("2b1", "sigma_2b1"), ("dtoc", "sigma_dtoc")):
            if (kinds == kind).any():
                b.diag[name] = (kinds == kind).astype(float) * scale
        b.offset["offset_2b1"] = (kinds == "2b1").astype(float)
        b.offset["offset_hle_revised"] = np.array([1.0 if o.series == "hle_revised" else 0.0 for o in mine])
        b.offset["trend_hle_boroughs"] = np.array([(o.t - T0) / 10.0 if (o.kind == "hle" and not ref) else 0.0
                                                   for o in mine])
        if not ref:
            zs: dict[str, list[np.ndarray]] = {}
            for sex in ("male", "female"):
                hle = np.array([1.0 if (o.kind == "hle" and o.sex == sex) else 0.0 for o in mine])
                if hle.any():
                    zs.setdefault("tau_hle_level", []).append(hle)
                    zs.setdefault("tau_hle_trend", []).append(hle * np.array([(o.t - T0) / 10.0 for o in mine]))
                le = np.array([1.0 if (o.kind == "le" and o.sex == sex) else 0.0 for o in mine])
                if le.any():
                    zs.setdefault("tau_le_level", []).append(le)
            for kind, name in (("2a2", "tau_2a2_level"), ("2b1", "tau_2b1_level"), ("dtoc", "tau_dtoc_level")):
                if (kinds == kind).any():
                    zs.setdefault(name, []).append((kinds == kind).astype(float))
            b.z = {n: np.stack(v) for n, v in zs.items()}
        blocks.append(b)
    return blocks


def block_moments(b: Block, mean: np.ndarray, hyper: dict[str, np.ndarray], offsets: dict[str, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean (w x k) and covariance (w x k x k) of a block's figures for w parameter sets."""
    w = mean.shape[0]
    mu = mean.copy()
    for name, ind in b.offset.items():
        if name in offsets and ind.any():
            mu = mu + offsets[name][:, None] * ind[None, :]
    cov = np.broadcast_to(b.base, (w,) + b.base.shape).copy()
    k = len(b.y)
    di = np.arange(k)
    for name, d in b.diag.items():
        cov[:, di, di] += hyper[name][:, None] ** 2 * d[None, :]
    for name, zz in b.z.items():
        outer = np.einsum("ri,rj->ij", zz, zz)
        cov += hyper[name][:, None, None] ** 2 * outer[None]
    return mu, cov


def log_likelihood(blocks: list[Block], means: dict[str, np.ndarray], hyper: dict[str, np.ndarray],
                   offsets: dict[str, np.ndarray]) -> np.ndarray:
    """Gaussian log-likelihood of every block for w parameter sets; `means[arm]` is the arm's emulated
    statistics (w x all of its statistics)."""
    total = None
    for b in blocks:
        mu, cov = block_moments(b, means[b.arm][:, b.idx], hyper, offsets)
        r = b.y[None, :] - mu
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            return np.full(mu.shape[0], -np.inf)
        sol = np.linalg.solve(chol, r[..., None])[..., 0]
        ll = -0.5 * np.sum(sol * sol, axis=1) - np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1) \
            - 0.5 * len(b.y) * np.log(2 * np.pi)
        total = ll if total is None else total + ll
    return total if total is not None else np.zeros(0)
