"""Residents' social life: volunteering, joining and leaving community groups, and connectedness.

All rates rise with trust in the council (relative to its base, to a stated elasticity): the citizen
side of the Deal. Group choice is local: a resident joins a group in their service area, weighted by the
group's spare capacity, so community capacity near a person decides whether they can be supported.
"""

from __future__ import annotations

import numpy as np

from .parameters import SocialParams, TrustParams
from .residents import CARE_HOME, Residents

AGE_EDGES = np.array([16, 25, 50, 65, 80], np.float32)
# Relative volunteering by age (DCMS CLS 2016-17: 25-34 0.15, 65-74 0.32 vs 0.22 overall).
AGE_FACTOR = np.array([0.0, 0.9, 0.75, 1.0, 1.4, 0.6], np.float32)


class GroupIndex:
    """Active groups ordered by area, with cumulative spare capacity, for weighted local choice."""

    def __init__(self, gid: np.ndarray, area: np.ndarray, spare: np.ndarray, capacity: np.ndarray, n_areas: int):
        cap_total = np.bincount(area, weights=capacity, minlength=n_areas)
        order = np.lexsort((gid, area))
        self.gid, self.area, spare = gid[order], area[order], np.maximum(spare[order], 0.0)
        self.cum = np.cumsum(spare)
        self.total = np.bincount(self.area, weights=spare, minlength=n_areas)
        # Share of the area's capacity still free: how easy it is to find a place.
        self.room = np.where(cap_total > 0, self.total / np.maximum(cap_total, 1e-9), 0.0).astype(np.float32)
        before = self.cum - spare
        self.start = np.zeros(n_areas)
        if self.gid.size:
            first = np.r_[True, self.area[1:] != self.area[:-1]]
            self.start[self.area[first]] = before[first]

    def choose(self, areas: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Group id for each chooser (v uniform in [0,1)); -1 where the area has no spare capacity."""
        out = np.full(areas.size, -1, np.int32)
        if not self.gid.size:
            return out
        tot = self.total[areas]
        ok = tot > 0
        x = self.start[areas[ok]] + v[ok] * tot[ok]
        k = np.minimum(np.searchsorted(self.cum, x, side="right"), self.gid.size - 1)
        out[ok] = self.gid[k]
        return out


_AGE_LOOKUP = AGE_FACTOR[np.searchsorted(AGE_EDGES, np.arange(121, dtype=np.float32), side="right")]


def age_factor(age: np.ndarray) -> np.ndarray:
    """Relative volunteering by whole year of age (a table lookup; searchsorted on every resident is slow)."""
    return _AGE_LOOKUP[np.minimum(age.astype(np.int16), 120)]


def trust_factor(tp: TrustParams, sp: SocialParams, trust: np.ndarray) -> np.ndarray:
    return np.power(np.maximum(trust, 1e-3) / np.float32(tp.base), np.float32(tp.volunteering_elasticity))


def step_social(sp: SocialParams, tp: TrustParams, r: Residents, rng: np.random.Generator,
                groups: GroupIndex, citizen_by_area: np.ndarray) -> dict[str, int]:
    """Volunteering starts and stops, group joining and leaving, connectedness drift."""
    n = r.n
    alive = r.alive[:n]
    age = r.age[:n]
    u = rng.random(n, dtype=np.float32)
    v = rng.random(n, dtype=np.float32)
    tf = trust_factor(tp, sp, r.trust[:n])
    at_home = alive & (r.setting[:n] != CARE_HOME)
    camp = np.float32(1.0) + np.float32(sp.campaign_volunteering) * citizen_by_area.astype(np.float32)[r.area[:n]]
    # Volunteering: a two-state process whose equilibrium is the national share at reference trust.
    stop = np.float32(1.0 / sp.volunteer_spell_months)
    start = np.float32(sp.volunteer_share / (1 - sp.volunteer_share) / sp.volunteer_spell_months)
    agef = age_factor(age)
    depf = np.float32(1.0) - np.float32(0.35) * (r.dep[:n] - np.float32(0.5))
    vol = r.volunteer[:n]
    p_start = start * agef * depf * tf * camp
    began = at_home & ~vol & (u < p_start)
    ended = vol & ((u < stop) | ~at_home)
    vol[began] = True
    vol[ended] = False
    # Groups: members drift away (volunteers stay), others join if there is room nearby.
    grp = r.group[:n]
    member = grp >= 0
    leave = member & ~vol & (v < np.float32(1.0 / sp.membership_months))
    grp[leave] = -1
    p_join = np.float32(sp.join_rate) * tf * groups.room[r.area[:n]]
    join = at_home & (grp < 0) & ((v < p_join) | began)
    idx = np.flatnonzero(join)
    if idx.size:
        grp[idx] = groups.choose(r.area[idx].astype(np.int64), rng.random(idx.size))
    # Connectedness relaxes to a personal target.
    target = (np.float32(sp.connectedness_base) + np.float32(sp.connectedness_sd) * r.eta[:n]
              + np.float32(sp.connectedness_member) * (grp >= 0)
              + np.float32(sp.connectedness_volunteer) * vol
              - np.float32(sp.connectedness_deprivation) * (r.dep[:n] - np.float32(0.5)))
    c = r.connect[:n]
    c += (target - c) * np.float32(1.0 / sp.connectedness_months)
    np.clip(c, 0.0, 1.0, out=c)
    return {"volunteers_started": int(began.sum()), "group_joins": int(idx.size)}


def equilibrium_connectedness(sp: SocialParams, r: Residents) -> None:
    """Initial connectedness at its target for a non-member non-volunteer (burn-in adds the rest)."""
    n = r.n
    r.connect[:n] = np.clip(sp.connectedness_base + sp.connectedness_sd * r.eta[:n]
                            - sp.connectedness_deprivation * (r.dep[:n] - 0.5), 0, 1)
