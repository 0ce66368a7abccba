"""Frontline staff: Mesa agents who choose between assessment-led and strengths-based practice.

Each practitioner has a practice mode, skill (training), autonomy ("permission to innovate"), morale and a
caseload. Adoption follows a Bass process inside their service area: own initiative (innovation_rate,
scaled by autonomy) plus peer learning (imitation_rate times the share of colleagues already practising
it), both only once trained. Caseload above capacity and drift push practitioners back to gate-keeping.
Each practitioner's draws (training, practice, turnover, and being chosen for a workforce cut) are keyed to
their own key (rng.py): 0..S-1 for the first staff, a hire's arrival month and rank after, so one arm's
extra leaver does not reshuffle the luck of everyone else. Practice reads this month's levers and last
month's caseload pressure (computed at the front door, `caseload_pressure`).

`workforce_month` is the whole month of the staff: practice choice, turnover, the council's workforce path
(cuts by smallest keys, hires into the areas with fewest practitioners). The staff are the model's Mesa agents
of type Staff (`model.agents_by_type`), in the order they were created.
"""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from .parameters import StaffParams
from .rng import smallest, uniforms

STAFF_HIRE = 2  # kind of arrival key of a hire (demography.arrival_key)


class Staff(mesa.Agent):
    """A frontline practitioner in one service area."""

    def __init__(self, model: mesa.Model, area: int, p: StaffParams, key: int):
        super().__init__(model)
        self.area = area
        self.key = key
        self.strengths_based = False
        self.trained = False
        self.skill = 0.0
        self.autonomy = p.baseline_autonomy
        self.morale = p.baseline_morale
        self.capacity = p.conversations_per_month

    def step_practice(self, p: StaffParams, u: np.ndarray, lever: float, peer_share: float, pressure: float) -> None:
        """One month: training, autonomy, practice choice and morale. u: three uniforms."""
        if lever > 0 and not self.trained and u[0] < p.training_rate * lever:
            self.trained = True
        self.skill += ((1.0 if self.trained else 0.0) - self.skill) / p.skill_months
        target = p.baseline_autonomy + (self.model.permitted_autonomy - p.baseline_autonomy) * lever
        self.autonomy += (target - self.autonomy) / p.autonomy_months
        excess = max(0.0, pressure - 1.0)
        if self.strengths_based:
            if u[1] < p.reversion_rate + p.reversion_pressure * excess + (1.0 - self.skill) * p.unskilled_reversion:
                self.strengths_based = False
        elif self.skill > p.min_skill:
            adopt = (p.innovation_rate * self.autonomy + p.imitation_rate * peer_share) * self.skill * lever
            if u[1] < adopt:
                self.strengths_based = True
        m_target = (p.baseline_morale + p.morale_autonomy * (self.autonomy - p.baseline_autonomy)
                    - p.morale_pressure * excess)
        self.morale += (min(1.0, max(0.0, m_target)) - self.morale) / p.morale_months
        self.capacity = p.conversations_per_month / (p.strengths_time_cost if self.strengths_based else 1.0)


def start_programme(model: mesa.Model) -> None:
    """A council's existing strengths-based programme when the recorded period starts: each practitioner is in
    it (trained, fully skilled, practising strengths-based) if their own keyed draw is below the share."""
    share = model.sc.staff.existing_programme
    if share <= 0:
        return
    staff = staff_of(model)
    u = uniforms(model.keys.month("staff", "programme", 0), np.fromiter((a.key for a in staff), np.int64, len(staff)))
    for agent, x in zip(staff, u):
        if x < share:
            agent.trained, agent.skill, agent.strengths_based = True, 1.0, True
            agent.capacity = model.sc.staff.conversations_per_month / model.sc.staff.strengths_time_cost


def turnover_rate(p: StaffParams, morale: float) -> float:
    """Monthly leaving rate: turnover_base at baseline morale, lower when engaged (Harter 2002 r = -0.30)."""
    return max(0.0, p.turnover_base * (1.0 - p.turnover_morale * (morale - p.baseline_morale) / p.turnover_morale_span))


def practice_arrays(staff: Sequence[Staff]) -> tuple[np.ndarray, np.ndarray]:
    """Areas and modes of the current staff, for vectorised assignment of conversations."""
    area = np.fromiter((s.area for s in staff), np.int64, len(staff))
    sb = np.fromiter((s.strengths_based for s in staff), np.bool_, len(staff))
    return area, sb


def by_area(staff: Sequence[Staff], n_areas: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Practice of the staff ordered by area, then key, with each area's offset and count: the order in which a
    conversation's uniform picks a practitioner (frontdoor.practitioner)."""
    area, sb = practice_arrays(staff)
    key = np.fromiter((s.key for s in staff), np.int64, len(staff))
    order = np.lexsort((key, area))
    count = np.bincount(area, minlength=n_areas).astype(np.int64)
    offset = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    return sb[order], offset, count


def staff_of(model: mesa.Model) -> list[Staff]:
    """The model's practitioners, in the order they were created."""
    return list(model.agents_by_type[Staff]) if Staff in model.agent_types else []


def workforce_month(model: mesa.Model, practice: np.ndarray) -> int:
    """Practice choice for every practitioner (this month's practice lever by area, last month's pressure), then
    turnover and the workforce path. Returns how many were newly trained."""
    from .demography import arrival_key

    p, m, n_areas = model.sc.staff, model.m, model.n_areas
    staff = staff_of(model)
    sa, sb = practice_arrays(staff)
    per_area = np.bincount(sa, minlength=n_areas)
    share = np.bincount(sa, weights=sb, minlength=n_areas) / np.maximum(per_area, 1)
    keys = np.fromiter((a.key for a in staff), np.int64, len(staff))
    u = np.column_stack([uniforms(model.keys.month("staff", d, m), keys) for d in ("training", "practice", "turnover")])
    was = sum(1 for x in staff if x.trained)
    for i, agent in enumerate(staff):
        a = agent.area
        agent.step_practice(p, u[i], float(practice[a]), float(share[a]), float(model.pressure[a]))
    trained = sum(1 for x in staff if x.trained) - was
    stay = []
    for i, agent in enumerate(staff):
        if u[i, 2] < turnover_rate(p, agent.morale):
            agent.remove()
        else:
            stay.append(agent)
    target = int(round(model.n_staff0 * model.finance.workforce(m) / model.sc.finance.workforce_baseline))
    if len(stay) > target:
        cut = set(smallest(model.keys.month("staff", "cut", m), np.array([a.key for a in stay], np.int64),
                           len(stay) - target).tolist())
        for a in stay:
            if a.key in cut:
                a.remove()
        stay = [a for a in stay if a.key not in cut]
    counts = np.bincount([a.area for a in stay], minlength=n_areas) if stay else np.zeros(n_areas, int)
    hired = 0
    while len(stay) < target:
        area = int(np.argmin(counts))
        counts[area] += 1
        stay.append(Staff(model, area, p, arrival_key(m, STAFF_HIRE, hired)))
        hired += 1
    return max(trained, 0)


def caseload_pressure(staff: Sequence[Staff], p: StaffParams, demand_by_area: np.ndarray, n_areas: int) -> np.ndarray:
    """This month's conversations asked for over the practitioners' capacity, by area (2 where there is nobody):
    strengths-based conversations take strengths_time_cost times as long."""
    sa, sb = practice_arrays(staff)
    cap = np.bincount(sa, weights=np.where(sb, p.conversations_per_month / p.strengths_time_cost,
                                           p.conversations_per_month), minlength=n_areas)
    return np.where(cap > 0, demand_by_area / np.maximum(cap, 1e-9), 2.0)
