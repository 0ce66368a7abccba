"""Residents' social life: volunteering, joining and leaving community groups, and connectedness.

All rates rise with trust in the council (relative to its base, to a stated elasticity): the citizen
side of the Deal. Group choice is local: a resident joins a group in their service area, weighted by the
group's spare capacity, so community capacity near a person decides whether they can be supported.

Volunteering is a two-state process whose equilibrium is the national share at reference trust (start
rate scaled by age, deprivation, trust and the citizen campaign; stop rate 1/spell). Members drift away
(volunteers stay); others join a group nearby with probability join_rate x trust factor x the area's free
capacity share, and new volunteers always try to join one. A member who leaves this month does not rejoin
in the same month. Connectedness then relaxes towards its personal target. `resident_month` is the rule
for one resident; passes.py runs it inside the month's pass
over residents.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .parameters import SocialParams, TrustParams

AGE_EDGES = np.array([16, 25, 50, 65, 80], np.float32)
# Relative volunteering by age (DCMS CLS 2016-17: 25-34 0.15, 65-74 0.32 vs 0.22 overall).
AGE_FACTOR = np.array([0.0, 0.9, 0.75, 1.0, 1.4, 0.6], np.float32)
AGE_LOOKUP = AGE_FACTOR[np.searchsorted(AGE_EDGES, np.arange(121, dtype=np.float32), side="right")]

SocialK = namedtuple("SocialK", "inv_base elasticity camp_w start stop leave_p join_rate dep_grad "
                                "c_base c_sd c_member c_vol c_dep c_inv_tau")


def constants(sp: SocialParams, tp: TrustParams) -> SocialK:
    return SocialK(1.0 / tp.base, float(tp.volunteering_elasticity), sp.campaign_volunteering,
                   sp.volunteer_share / (1 - sp.volunteer_share) / sp.volunteer_spell_months,
                   1.0 / sp.volunteer_spell_months, 1.0 / sp.membership_months, sp.join_rate,
                   sp.volunteering_deprivation, sp.connectedness_base, sp.connectedness_sd,
                   sp.connectedness_member, sp.connectedness_volunteer, sp.connectedness_deprivation,
                   1.0 / sp.connectedness_months)


class GroupIndex:
    """Active groups ordered by area (then by their key), with cumulative spare capacity, for weighted choice."""

    def __init__(self, key: np.ndarray, gid: np.ndarray, area: np.ndarray, spare: np.ndarray, capacity: np.ndarray,
                 n_areas: int):
        cap_total = np.bincount(area, weights=capacity, minlength=n_areas)
        order = np.lexsort((key, area))
        self.gid, self.area, spare = gid[order].astype(np.int32), area[order], np.maximum(spare[order], 0.0)
        self.cum = np.cumsum(spare)
        self.total = np.bincount(self.area, weights=spare, minlength=n_areas)
        # Share of the area's capacity still free: how easy it is to find a place.
        self.room = np.where(cap_total > 0, self.total / np.maximum(cap_total, 1e-9), 0.0)
        before = self.cum - spare
        self.start = np.zeros(n_areas)
        if self.gid.size:
            first = np.r_[True, self.area[1:] != self.area[:-1]]
            self.start[self.area[first]] = before[first]

    def choose(self, areas: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Group id for each chooser (v uniform in [0,1)); -1 where the area has no spare capacity."""
        out = np.empty(areas.size, np.int32)
        _choose_many(self.start, self.total, self.cum, self.gid, np.asarray(areas, np.int64),
                     np.asarray(v, np.float64), out)
        return out


@njit(cache=True, inline="always")
def pick(start, total, cum, gid, area, v):
    """The group a uniform v picks in `area`, weighted by spare capacity; -1 if there is none."""
    tot = total[area]
    if gid.size == 0 or tot <= 0.0:
        return -1
    x = start[area] + v * tot
    lo, hi = 0, cum.size  # first index with cum > x (searchsorted, side right)
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return gid[min(lo, gid.size - 1)]


@njit(cache=True)
def _choose_many(start, total, cum, gid, areas, v, out):
    for i in range(areas.size):
        out[i] = pick(start, total, cum, gid, areas[i], v[i])


@njit(cache=True, inline="always")
def trust_factor(k, trust):
    tr = max(trust, 1e-3) * k.inv_base
    return tr if k.elasticity == 1.0 else tr ** k.elasticity


@njit(cache=True, inline="always")
def resident_month(k, at_home, age, dep, trust, eta, citizen, room, was_volunteer, group, connect, u, v):
    """Volunteering, leaving a group, whether to look for one, and connectedness for one resident.

    Returns (volunteer, began, group, wants_group). The caller picks the group for a resident who wants one
    and then calls `connectedness` (which depends on the group found)."""
    tf = trust_factor(k, trust)
    p_start = (k.start * AGE_LOOKUP[min(int(age), 120)] * (1.0 - k.dep_grad * (dep - 0.5)) * tf
               * (1.0 + k.camp_w * citizen))
    began = (not was_volunteer) and at_home and u < p_start
    ended = was_volunteer and (u < k.stop or not at_home)
    now = (was_volunteer and not ended) or began
    wants = group < 0 and at_home and (began or v < k.join_rate * tf * room)
    if group >= 0 and not now and v < k.leave_p:
        group = -1
    return now, began, group, wants


@njit(cache=True, inline="always")
def connectedness(k, connect, eta, dep, member, volunteer):
    t = k.c_base + k.c_sd * eta + k.c_member * member + k.c_vol * volunteer - k.c_dep * (dep - 0.5)
    return min(max(connect + (t - connect) * k.c_inv_tau, 0.0), 1.0)


def equilibrium_connectedness(sp: SocialParams, eta: np.ndarray, dep: np.ndarray) -> np.ndarray:
    """Connectedness at its target for a non-member non-volunteer (newcomers, and the start; burn-in adds the rest)."""
    return np.clip(sp.connectedness_base + sp.connectedness_sd * eta - sp.connectedness_deprivation * (dep - 0.5),
                   0, 1).astype(np.float32)
