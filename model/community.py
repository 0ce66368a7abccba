"""Community groups: Mesa agents with capacity, volunteers, members, grants, founding and closure.

A group's capacity to support residents grows with its volunteers and its grant. Investment-fund grants
are paid over three years on a reducing scale (grant_taper). Groups close at a base hazard, faster when
short of volunteers and unfunded; new groups are founded locally at a rate that rises with trust, and by
the fund itself (new_group_share of grants). Members and volunteers are residents (their `group` column);
the model counts them for each group every month. Groups read last month's counts (the month's tally is
taken at its end). A group's closure draw is keyed to the group's own key (rng.py); foundings and grants are
Poisson counts by inversion of one uniform per month (and area), so the two arms' counts move together.
"""

from __future__ import annotations

import mesa
import numpy as np

from .parameters import CommunityParams


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


def group_arrays(groups: list[CommunityGroup]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """key, gid, area, spare capacity and capacity of active groups."""
    act = [g for g in groups if g.active]
    key = np.fromiter((g.key for g in act), np.int64, len(act))
    gid = np.fromiter((g.gid for g in act), np.int64, len(act))
    area = np.fromiter((g.area for g in act), np.int64, len(act))
    cap = np.fromiter((g.capacity for g in act), float, len(act))
    mem = np.fromiter((g.members for g in act), float, len(act))
    return key, gid, area, cap - mem, cap
