"""The front door: residents with rising need talk to a practitioner, and the conversation decides a path.

Eligible: alive adults (18+; children's services are outside the model), living at home without a package, need above the need margin, not seen in the last
`recontact_months`. Each month an eligible resident makes contact with probability `contact_rate`; the
conversation is with a practitioner of their service area chosen at random. What follows depends on that
practitioner's practice and on spare community capacity nearby:
  care home (only at care-home level need) > long-term home care > reablement > community connection >
  information and advice,
taken in that order from one uniform draw, with probabilities from FrontDoorParams. Strengths-based
practice cuts packages and placements and connects people to groups when there is room.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .parameters import FrontDoorParams
from .residents import HOME, HOME_CARE, Residents

PATHS = ("care_home", "home_care", "reablement", "community", "advice")


@dataclass
class FrontDoorResult:
    contacts: int
    strengths_based: int
    paths: dict[str, np.ndarray]       # indices of residents per path
    referred_groups: np.ndarray        # group chosen for each community referral (-1 none)
    conversations_by_staff: np.ndarray
    demand_by_area: np.ndarray


@njit(cache=True)
def _contacts(n, alive, age, setting, need, last_contact, reab_until, u, m, recontact, rate, out):
    for i in range(n):
        out[i] = (alive[i] & (age[i] >= 18.0) & (setting[i] == HOME) & need[i]
                  & ((m - last_contact[i]) >= recontact) & (reab_until[i] < m) & (u[i] < rate))


def step_front_door(p: FrontDoorParams, r: Residents, rng: np.random.Generator, m: int, need: np.ndarray,
                    ch_level: np.ndarray, staff_area: np.ndarray, staff_sb: np.ndarray, n_areas: int,
                    room_by_area: np.ndarray, pick_group) -> FrontDoorResult:
    n = r.n
    u = rng.random(n, dtype=np.float32)
    contact = np.empty(n, np.bool_)
    _contacts(n, r.alive, r.age, r.setting, need, r.last_contact, r.reab_until, u, m, p.recontact_months,
              p.contact_rate, contact)
    idx = np.flatnonzero(contact)
    k = idx.size
    paths = {name: np.empty(0, np.int64) for name in PATHS}
    ns = staff_area.size
    by_staff = np.zeros(ns, np.int64)
    area = r.area[idx].astype(np.int64)
    demand = np.bincount(area, minlength=n_areas)
    if k == 0 or ns == 0:
        return FrontDoorResult(k, 0, paths, np.empty(0, np.int32), by_staff, demand)
    w = rng.random((k, 2))
    # Assign each conversation to a practitioner of the resident's area (any practitioner if none there).
    order = np.argsort(staff_area, kind="stable")
    counts = np.bincount(staff_area, minlength=n_areas)
    offset = np.r_[0, np.cumsum(counts)[:-1]]
    local = counts[area] > 0
    pos = np.where(local, offset[area] + (w[:, 0] * np.maximum(counts[area], 1)).astype(np.int64),
                   (w[:, 0] * ns).astype(np.int64))
    who = np.where(local, order[np.minimum(pos, ns - 1)], np.minimum(pos, ns - 1))
    by_staff = np.bincount(who, minlength=ns)
    sb = staff_sb[who]
    ch = ch_level[idx]
    p_ch = np.where(ch, p.traditional_care_home * np.where(sb, 1 - p.strengths_care_home_reduction, 1.0), 0.0)
    p_hc = p.traditional_home_care * np.where(sb, 1 - p.strengths_home_care_reduction, 1.0)
    p_re = np.where(sb, p.strengths_reablement, p.traditional_reablement)
    p_co = np.where(sb, p.strengths_community * room_by_area[area], p.traditional_community)
    c1 = p_ch
    c2 = c1 + p_hc * (1 - c1)
    c3 = c2 + p_re * (1 - c2)
    c4 = c3 + p_co * (1 - c3)
    x = w[:, 1]
    choice = np.select([x < c1, x < c2, x < c3, x < c4], [0, 1, 2, 3], 4)
    for j, name in enumerate(PATHS):
        paths[name] = idx[choice == j]
    r.last_contact[idx] = m
    r.last_sb[idx[sb]] = m
    co = paths["community"]
    groups = pick_group(r.area[co].astype(np.int64), rng.random(co.size)) if co.size else np.empty(0, np.int32)
    return FrontDoorResult(k, int(sb.sum()), paths, groups, by_staff, demand)


def start_home_care(r: Residents, idx: np.ndarray) -> None:
    r.setting[idx] = HOME_CARE
