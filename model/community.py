"""Community groups: Mesa agents with capacity, volunteers, members, grants, founding and closure.

A group's capacity to support residents grows with its volunteers and its grant. Investment-fund grants
are paid over three years on a reducing scale (grant_taper). Groups close at a base hazard, faster when
short of volunteers and unfunded; new groups are founded locally at a rate that rises with trust, and by
the fund itself (new_group_share of grants). Members and volunteers are residents (their `group` column);
the model counts them for each group every month. Groups read last month's counts (the month's tally is
taken at its end). A group's closure draw is keyed to the group's own key (rng.py); foundings and grants are
Poisson counts by inversion of one uniform per month (and area), so the two arms' counts move together.

`community_month` is the whole month of the groups: counts, grants, closure, founding and fund awards. The
groups are the model's Mesa agents of type CommunityGroup (a closed group leaves them); `gid` numbers every
group ever founded, and indexes the residents' `group` column and the tally's per-group counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from .parameters import CommunityParams
from .rng import poisson, uniforms

GROUP_LOCAL, GROUP_GRANT = 3, 4  # kinds of arrival key (demography.arrival_key)


class CommunityGroup(mesa.Agent):
    """A voluntary or community group in one service area."""

    def __init__(self, model: mesa.Model, gid: int, area: int, founded: int, key: int):
        super().__init__(model)
        self.gid = gid
        self.key = key
        self.area = area
        self.founded = founded
        self.active = True
        self.grant_gbp_k = 0.0          # total of the current grant (GBP thousands, model scale)
        self.grant_start = -1           # month the current grant began
        self.members = 0
        self.volunteers = 0
        self.capacity = 0.0
        self.paid_this_month_k = 0.0

    def award(self, amount_k: float, m: int) -> None:
        self.grant_gbp_k, self.grant_start = amount_k, m

    def annual_grant_k(self, p: CommunityParams, m: int) -> float:
        """This year's instalment of a tapering three-year grant (0 after it ends)."""
        if self.grant_start < 0:
            return 0.0
        year = (m - self.grant_start) // 12
        return self.grant_gbp_k * p.grant_taper[year] if year < len(p.grant_taper) else 0.0

    def step_group(self, p: CommunityParams, u: float, m: int) -> None:
        annual = self.annual_grant_k(p, m)
        self.paid_this_month_k = annual / 12.0
        self.capacity = p.capacity_base + p.capacity_per_volunteer * self.volunteers + p.capacity_per_gbp_k * annual
        struggling = self.volunteers < p.min_volunteers and annual == 0.0
        if u < p.closure_rate * (1.0 + (p.closure_unfunded if struggling else 0.0)):
            self.active = False
            self.capacity = 0.0
            self.remove()


def group_arrays(groups: Sequence[CommunityGroup]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """key, gid, area, spare capacity and capacity of active groups."""
    act = [g for g in groups if g.active]
    key = np.fromiter((g.key for g in act), np.int64, len(act))
    gid = np.fromiter((g.gid for g in act), np.int64, len(act))
    area = np.fromiter((g.area for g in act), np.int64, len(act))
    cap = np.fromiter((g.capacity for g in act), float, len(act))
    mem = np.fromiter((g.members for g in act), float, len(act))
    return key, gid, area, cap - mem, cap


def groups_of(model: mesa.Model) -> list[CommunityGroup]:
    """The model's active groups, in the order they were founded."""
    return list(model.agents_by_type[CommunityGroup]) if CommunityGroup in model.agent_types else []


def found(model: mesa.Model, area: int, key: int) -> CommunityGroup:
    """A new group in `area` (its gid the next number), at base capacity."""
    g = CommunityGroup(model, model.n_group_ids, area, model.m, key)
    model.n_group_ids += 1
    g.capacity = model.sc.community.capacity_base
    return g


def community_month(model: mesa.Model, fund_gbp_m: float) -> tuple[float, np.ndarray]:
    """Counts, grants, closures, foundings and fund awards. Returns the grant money paid this month (GBP k, model
    scale) and which gids closed (their members leave in the month's pass); sets `model.invest_per_head`."""
    from .demography import arrival_key

    p, m, A = model.sc.community, model.m, model.n_areas
    # Counts from the end of last month's tally: nothing since has changed membership or residence.
    t = model.tally
    mem, vol, pop_area, tf_sum = t.members, t.volunteers, t.pop_area, t.trust_factor_area
    active = groups_of(model)
    u = uniforms(model.keys.month("community", "closure", m), np.array([g.key for g in active], np.int64))
    gone = np.zeros(model.n_group_ids, np.bool_)
    paid = 0.0
    for i, g in enumerate(active):
        g.members, g.volunteers = int(mem[g.gid]), int(vol[g.gid])
        g.step_group(p, float(u[i]), m)
        paid += g.paid_this_month_k
        if not g.active:
            gone[g.gid] = True
    # Founding: local, faster where trust is higher; one uniform per area.
    tf = tf_sum / np.maximum(pop_area, 1)
    lam = p.founding_per_100k * pop_area / 1e5 * tf
    uf = uniforms(model.keys.month("community", "founding", m), np.arange(A, dtype=np.int64))
    for a in range(A):
        for j in range(poisson(float(uf[a]), float(lam[a]))):
            found(model, a, arrival_key(m, GROUP_LOCAL, a * 4096 + j))
    # Fund awards: a Poisson number of grants from this month's money; some found new groups, the rest go to
    # unfunded groups in the order of their draws.
    if fund_gbp_m > 0:
        ug = float(uniforms(model.keys.month("community", "grants", m), np.zeros(1, np.int64))[0])
        k_grants = poisson(ug, fund_gbp_m * 1000.0 * model.scale / p.mean_grant_gbp_k)
        free = [g for g in groups_of(model) if g.grant_start < 0]
        order = np.argsort(uniforms(model.keys.month("community", "grant_pick", m),
                                    np.array([g.key for g in free], np.int64)), kind="stable")
        queue = [free[i] for i in order]
        j_ids = np.arange(k_grants, dtype=np.int64)
        new = uniforms(model.keys.month("community", "grant_new", m), j_ids) < p.new_group_share
        where = uniforms(model.keys.month("community", "grant_area", m), j_ids)
        for j in range(k_grants):
            if new[j] or not queue:
                g = found(model, min(int(where[j] * A), A - 1), arrival_key(m, GROUP_GRANT, j))
            else:
                g = queue.pop(0)
            g.award(p.mean_grant_gbp_k, m)
    paid_by_area = np.zeros(A)
    for g in groups_of(model):
        if g.grant_start >= 0:
            paid_by_area[g.area] += g.paid_this_month_k * 12.0
    model.invest_per_head = paid_by_area * 1000.0 / np.maximum(pop_area, 1)
    return paid, gone
