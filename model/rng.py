"""Random numbers keyed to residents: every draw is a pure function of (seed, mechanism, decision, month, id).

Common random numbers only cancel noise between a Deal run and its no-Deal twin if the same resident meets
the same luck in both, whatever else differs. Sequential streams cannot promise that: as soon as the arms
differ in how many residents reach a point, every later draw lands on someone else. So nothing here is a
stream. A draw is a hash:

    key(seed, mechanism, decision)       64 bits from SHA-256 of the text "seed/mechanism/decision"
    key_m = mix64(key ^ mix64(m + 1))    one key per month (or per year, or per count)
    draw  = mix64(key_m + (id + 1) * G)  the id-th output of SplitMix64 started at key_m

`mix64` is the SplitMix64 output function (Stafford's "Mix13" finaliser) and G = 0x9E3779B97F4A7C15 the
golden-ratio increment; `draw` is exactly SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable
pseudorandom number generators", OOPSLA), which passes TestU01's BigCrush, used as a counter-based
generator in the sense of Salmon et al. 2011 ("Parallel random numbers: as easy as 1, 2, 3", SC11). A
uniform is the top 53 bits times 2^-53, in [0, 1).

The id is a resident's `key` column (residents.py), a staff member's or a community group's `key`: the
initial population 0..N-1, newcomers numbered from their arrival (month, kind, rank). Kernels call `u01`
inline, so draws cost a hash where they are used and never depend on how many others drew before.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit
from scipy import special

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO53 = 1.0 / 9007199254740992.0
_MASK = (1 << 64) - 1

# Mechanisms and their decisions: the only names a key may be made from (a typo is an error, not a stream).
DECISIONS: dict[str, tuple[str, ...]] = {
    "init": ("order", "age", "open_band", "deprivation", "ward", "frailty", "connect", "setting", "funded",
             "volunteer", "group"),
    "health": ("shock",),
    "social": ("volunteer", "group", "choice"),
    "staff": ("training", "practice", "turnover", "cut", "programme"),
    "community": ("closure", "founding", "grants", "grant_new", "grant_area", "grant_pick"),
    "hospital": ("admit", "discharge_home", "discharge_care", "delay"),
    "front_door": ("contact", "practitioner", "path", "group", "uptake"),
    "care_market": ("reablement_end", "home_care", "funded"),
    "demography": ("death", "births", "migrants", "emigrate", "sex", "age", "deprivation", "ward", "frailty",
                   "connect"),
    "survey": ("pick",),
}


def _mix(z: int) -> int:
    """mix64 in Python integers (for keys, computed once)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def stream_key(seed: int, mechanism: str, decision: str) -> int:
    """64-bit key of one decision of one mechanism under one seed."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if decision not in DECISIONS.get(mechanism, ()):
        raise KeyError(f"unknown random decision {mechanism}.{decision}")
    return int.from_bytes(hashlib.sha256(f"{seed}/{mechanism}/{decision}".encode()).digest()[:8], "little")


def at(key: int, t: int) -> np.uint64:
    """The key for month (or year, or count index) t of a decision."""
    return np.uint64(_mix(key ^ _mix((t + 1) & _MASK)))


class Keys:
    """A run's decision keys: `keys.month("health", "shock", m)` is the key kernels hash ids with."""

    def __init__(self, seed: int):
        self.seed = seed
        self._base = {(mech, d): stream_key(seed, mech, d) for mech, ds in DECISIONS.items() for d in ds}

    def month(self, mechanism: str, decision: str, t: int) -> np.uint64:
        return at(self._base[mechanism, decision], t)


@njit(cache=True, inline="always")
def mix64(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def u01(key, rid):
    """Uniform in [0, 1) for id `rid` under `key` (a month's key): the rid-th SplitMix64 output."""
    return np.float64(mix64(key + np.uint64(rid + 1) * GAMMA) >> _S11) * _TWO53


@njit(cache=True)
def _uniforms(key, ids, out):
    for i in range(ids.size):
        out[i] = u01(key, ids[i])


def uniforms(key: np.uint64, ids: np.ndarray) -> np.ndarray:
    """u01 for each id (vectorised, for the few places outside the kernels)."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    out = np.empty(ids.size, np.float64)
    if ids.size:
        _uniforms(np.uint64(key), ids, out)
    return out


def normals(key: np.uint64, ids: np.ndarray) -> np.ndarray:
    """Standard normal for each id, by inversion of its uniform (never 0: u is shifted into (0, 1))."""
    u = uniforms(key, ids)
    return special.ndtri((u * (1 - 2**-53)) + 2**-54)


def smallest(key: np.uint64, ids: np.ndarray, k: int) -> np.ndarray:
    """The k ids with the smallest draws: a selection that keeps the same people whatever the others do."""
    ids = np.asarray(ids, dtype=np.int64)
    if k >= ids.size:
        return ids.copy()
    if k <= 0:
        return ids[:0].copy()
    u = uniforms(key, ids)
    part = np.argpartition(u, k - 1)[:k]
    return ids[part[np.argsort(u[part], kind="stable")]]


def poisson(u: float, lam: float) -> int:
    """Poisson(lam) count by inversion of one uniform: the smallest k with P(X <= k) > u.

    Inversion makes counts in the two arms move together when their rates are close (one uniform per
    month, area and kind)."""
    if lam <= 0.0:
        return 0
    k = max(int(np.floor(special.pdtrik(u, lam))), 0) if lam > 1.0 else 0  # near the answer, then exact
    while k > 0 and special.pdtr(k - 1, lam) > u:
        k -= 1
    while special.pdtr(k, lam) <= u:
        k += 1
    return k
