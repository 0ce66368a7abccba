"""Residents' social life: volunteering, joining and leaving community groups, and connectedness.

All rates rise with trust in the council (relative to its base, to a stated elasticity): the citizen
side of the Deal. Group choice is local: a resident joins a group in their service area, weighted by the
group's spare capacity, so community capacity near a person decides whether they can be supported.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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


@njit(cache=True)
def _volunteer_and_groups(n, alive, setting, age, dep, trust, area, vol, grp, u, v, citizen, room, age_lut,
                          inv_base, elasticity, camp_w, start, stop, leave_p, join_rate, join_out):
    """Volunteering spells and group leaving; join_out marks candidates for joining. Returns how many began.

    Written with 0/1 arithmetic: residents are in random order, so branches would be mispredicted."""
    began_n = 0
    unit = elasticity == 1.0
    for i in range(n):
        live = alive[i]
        at_home = live & (setting[i] != CARE_HOME)
        tr = max(trust[i], 1e-3) * inv_base
        tf = tr if unit else tr ** elasticity
        p_start = start * age_lut[min(int(age[i]), 120)] * (1.0 - 0.35 * (dep[i] - 0.5)) * tf \
            * (1.0 + camp_w * citizen[area[i]])
        was = vol[i]
        began = (not was) & at_home & (u[i] < p_start)
        ended = was & ((u[i] < stop) | (not at_home))
        now = (was & (not ended)) | began
        vol[i] = now
        began_n += began
        g = grp[i]
        leave = (g >= 0) & (not now) & (v[i] < leave_p)
        grp[i] = -1 if leave else g
        join_out[i] = (g < 0) & at_home & (began | (v[i] < join_rate * tf * room[area[i]]))
    return began_n


@njit(cache=True)
def _connectedness(n, alive, eta, dep, grp, vol, connect, base, sd, w_member, w_vol, w_dep, inv_tau):
    for i in range(n):  # dead residents' slots are updated too: harmless, and keeps the loop vectorisable
        t = base + sd * eta[i] + w_member * (grp[i] >= 0) + w_vol * vol[i] - w_dep * (dep[i] - 0.5)
        c = connect[i] + (t - connect[i]) * inv_tau
        connect[i] = min(max(c, 0.0), 1.0)


def step_social(sp: SocialParams, tp: TrustParams, r: Residents, rng: np.random.Generator,
                groups: GroupIndex, citizen_by_area: np.ndarray) -> dict[str, int]:
    """Volunteering starts and stops, group joining and leaving, connectedness drift.

    Volunteering is a two-state process whose equilibrium is the national share at reference trust
    (start rate scaled by age, deprivation, trust and the citizen campaign; stop rate 1/spell). Members
    drift away (volunteers stay); others join a group nearby with probability join_rate x trust factor x
    the area's free capacity share, new volunteers always try to join one. A member who leaves this month
    does not rejoin in the same month. Connectedness then relaxes towards its personal target."""
    n = r.n
    u = rng.random(n, dtype=np.float32)
    v = rng.random(n, dtype=np.float32)
    join = np.empty(n, np.bool_)
    began = _volunteer_and_groups(
        n, r.alive, r.setting, r.age, r.dep, r.trust, r.area, r.volunteer, r.group, u, v,
        np.asarray(citizen_by_area, np.float32), groups.room, _AGE_LOOKUP, 1.0 / tp.base,
        float(tp.volunteering_elasticity), sp.campaign_volunteering,
        sp.volunteer_share / (1 - sp.volunteer_share) / sp.volunteer_spell_months,
        1.0 / sp.volunteer_spell_months, 1.0 / sp.membership_months, sp.join_rate, join)
    idx = np.flatnonzero(join)
    k = idx.size
    if k:
        r.group[idx] = groups.choose(r.area[idx].astype(np.int64), rng.random(k))
    _connectedness(n, r.alive, r.eta, r.dep, r.group, r.volunteer, r.connect, sp.connectedness_base,
                   sp.connectedness_sd, sp.connectedness_member, sp.connectedness_volunteer,
                   sp.connectedness_deprivation, 1.0 / sp.connectedness_months)
    return {"volunteers_started": int(began), "group_joins": int(k)}


def equilibrium_connectedness(sp: SocialParams, r: Residents) -> None:
    """Initial connectedness at its target for a non-member non-volunteer (burn-in adds the rest)."""
    n = r.n
    r.connect[:n] = np.clip(sp.connectedness_base + sp.connectedness_sd * r.eta[:n]
                            - sp.connectedness_deprivation * (r.dep[:n] - 0.5), 0, 1)
