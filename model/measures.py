"""Measuring like the real world: the monthly table and the published statistics (brief section 3).

The recorder keeps one row a month of aggregate state (full-scale counts), plus what the publishers would
have collected: deaths by sex and age band through each calendar year, the mid-year (July) population as
exposure, a simulated Annual Population Survey sample of realistic size each July, and ASCOF counts per
financial year. `outcomes()` turns them into the published measures (observation.py does the maths).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numba import njit

from . import observation as obs
from .calendar import fy_label, month_of, year_of

N_BANDS = len(obs.LIFE_TABLE_AGES)

# Sums over living residents, computed in one pass each month (finance and the monthly row both use them).
AGG = ("pop", "pop65", "pop18", "adults", "good", "frailty", "connect", "isolated_adults", "volunteer_adults",
       "members", "trust", "home_care", "care_home", "care_home_funded")


@njit(cache=True, fastmath=True)  # reductions: lets LLVM vectorise the sums
def _aggregate(n, alive, age, sex, dep, u, prot, connect, volunteer, group, trust, setting, funded, area,
               slope, dep_eff, shift, thr_f, thr_m, inv_trust_base, elasticity, out, members, volunteers,
               pop_area, trust_factor_area):
    # Residents are in random order, so every test is written as arithmetic on 0/1 values: branches
    # would be mispredicted half the time and cost more than the sums themselves.
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = s10 = s11 = s12 = s13 = 0.0
    dthr = thr_m - thr_f
    unit = elasticity == 1.0
    for i in range(n):
        w = 1.0 * alive[i]
        a = age[i]
        f = a * slope + dep_eff * (dep[i] - 0.5) + shift + u[i] - prot[i]
        ad = w * (a >= 16.0)
        st = setting[i]
        s0 += w
        s1 += w * (a >= 65.0)
        s2 += w * (a >= 18.0)
        s3 += ad
        s4 += w * (f < thr_f + dthr * sex[i])
        s5 += w * f
        s6 += w * connect[i]
        s7 += ad * (connect[i] < 0.3)
        s8 += ad * volunteer[i]
        s9 += w * (group[i] >= 0)
        s10 += w * trust[i]
        s11 += w * (st == 1)
        s12 += w * (st == 2)
        s13 += w * (st == 2) * funded[i]
    # Per-area and per-group counts in a second loop, so the sums above stay vectorised.
    for i in range(n):
        w = 1.0 * alive[i]
        ar = area[i]
        pop_area[ar] += w
        tr = max(trust[i], 1e-3) * inv_trust_base
        trust_factor_area[ar] += w * (tr if unit else tr ** elasticity)
        g = group[i]
        if g >= 0:  # the dead have no group (demography.remove)
            members[g] += 1
            volunteers[g] += volunteer[i]
    out[0] = s0; out[1] = s1; out[2] = s2; out[3] = s3; out[4] = s4; out[5] = s5; out[6] = s6  # noqa: E702
    out[7] = s7; out[8] = s8; out[9] = s9; out[10] = s10; out[11] = s11; out[12] = s12; out[13] = s13  # noqa: E702


@dataclass
class Tally:
    """One pass over the living: totals (AGG names), and what community groups need to know."""

    totals: dict[str, float]
    members: np.ndarray           # per group id
    volunteers: np.ndarray        # per group id
    pop_area: np.ndarray          # residents per service area
    trust_factor_area: np.ndarray  # summed trust factor per area (founding of groups)


def aggregate(r, hp, shift: float, n_groups: int, n_areas: int, tp) -> Tally:
    """Population counts and sums of state over the living (full-borough scaling is the caller's)."""
    out = np.zeros(len(AGG))
    t = Tally({}, np.zeros(n_groups, np.int64), np.zeros(n_groups, np.int64), np.zeros(n_areas), np.zeros(n_areas))
    _aggregate(r.n, r.alive, r.age, r.sex, r.dep, r.u, r.prot, r.connect, r.volunteer, r.group, r.trust, r.setting,
               r.funded, r.area, hp.age_slope_per_decade / 10.0, hp.deprivation_effect, shift, hp.threshold_female,
               hp.threshold_male, 1.0 / tp.base, float(tp.volunteering_elasticity), out, t.members, t.volunteers,
               t.pop_area, t.trust_factor_area)
    t.totals = dict(zip(AGG, out.tolist()))
    return t


def sullivan_robust(deaths: np.ndarray, exposure: np.ndarray, good: np.ndarray, resp: np.ndarray) -> dict | None:
    """Sullivan HLE on ONS's bands; if the open 90+ band has no deaths (small samples), on bands closed at 85+
    as ONS did for small areas; None if even that cannot be computed."""
    try:
        return obs.sullivan(deaths, exposure, good, resp)
    except ValueError:
        pass
    merge = lambda a: np.r_[a[:-2], a[-2:].sum()]  # noqa: E731
    try:
        return obs.sullivan(merge(deaths), merge(exposure), merge(good), merge(resp), starts=obs.LIFE_TABLE_AGES[:-1])
    except ValueError:
        return None


class Recorder:
    def __init__(self, start: int, end: int):
        self.start, self.end = start, end
        self.rows: dict[str, list] = defaultdict(list)
        self.months: list[int] = []
        self.deaths: dict[int, np.ndarray] = defaultdict(lambda: np.zeros((2, N_BANDS)))
        self.exposure: dict[int, np.ndarray] = {}
        self.good: dict[int, np.ndarray] = {}
        self.resp: dict[int, np.ndarray] = {}
        self.fy: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.annual: dict[str, dict[int, float]] = defaultdict(dict)

    def row(self, m: int, values: dict[str, float]) -> None:
        self.months.append(m)
        for k, v in values.items():
            self.rows[k].append(v)

    def add_deaths(self, m: int, age: np.ndarray, sex: np.ndarray) -> None:
        if age.size:
            b = obs.age_band_index(age)
            np.add.at(self.deaths[year_of(m)], (sex.astype(np.int64), b), 1.0)

    def mid_year(self, m: int, age: np.ndarray, sex: np.ndarray, s_age: np.ndarray, s_sex: np.ndarray,
                 s_good: np.ndarray, scale_inv: float) -> None:
        """July: exposure (mid-year population, full scale) and the survey's respondents."""
        y = year_of(m)
        b = obs.age_band_index(age)
        self.exposure[y] = np.bincount(sex.astype(np.int64) * N_BANDS + b, minlength=2 * N_BANDS).reshape(2, N_BANDS) * scale_inv
        sb = obs.age_band_index(s_age)
        key = s_sex.astype(np.int64) * N_BANDS + sb
        self.resp[y] = np.bincount(key, minlength=2 * N_BANDS).reshape(2, N_BANDS).astype(float)
        self.good[y] = np.bincount(key, weights=s_good.astype(float), minlength=2 * N_BANDS).reshape(2, N_BANDS)

    def complete_years(self) -> list[int]:
        ys = sorted({year_of(m) for m in self.months})
        return [y for y in ys if sum(1 for m in self.months if year_of(m) == y) == 12 and y in self.exposure]

    def complete_fys(self) -> list[int]:
        fys: dict[int, int] = defaultdict(int)
        for m in self.months:
            fys[year_of(m) if month_of(m) >= 4 else year_of(m) - 1] += 1
        return sorted(f for f, c in fys.items() if c == 12)

    def outcomes(self, scale: float) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {k: {} for k in (
            "hle_male", "hle_female", "le_male", "le_female", "hle_male_se", "hle_female_se",
            "care_home_admissions_65plus_per_100k", "still_at_home_91d_pct", "delayed_transfers_per_100k",
            "care_quality_good_or_outstanding", "cumulative_savings_gbp_m", "workforce")}
        years = self.complete_years()
        for y in years:
            if y + 1 in years and y + 2 in years:
                lab = obs.three_year_label(y)
                d = obs.pool_years(self.deaths, y) / scale
                e = obs.pool_years(self.exposure, y)
                g = obs.pool_years(self.good, y)
                n = obs.pool_years(self.resp, y)
                for s, name in ((1, "male"), (0, "female")):
                    res = sullivan_robust(d[s], e[s], g[s], n[s])
                    if res is None:  # too few people to measure (tiny --scale): reported as missing
                        continue
                    out[f"hle_{name}"][lab] = round(float(res["hle"]), 3)
                    out[f"le_{name}"][lab] = round(float(res["le"]), 3)
                    out[f"hle_{name}_se"][lab] = round(float(res["hle_se"]), 3)
        for fy in self.complete_fys():
            lab = fy_label(fy)
            f = {k: v.get(fy, 0.0) for k, v in self.fy.items()}
            if f.get("pop65"):
                out["care_home_admissions_65plus_per_100k"][lab] = round(obs.per_100k(f["ch_adm_65"], f["pop65"]), 2)
            if f.get("pop18") and f.get("days"):
                out["delayed_transfers_per_100k"][lab] = round(obs.per_100k(f["delayed_days"] / f["days"], f["pop18"]), 3)
            if f.get("reab_den"):
                out["still_at_home_91d_pct"][lab] = round(100.0 * f["reab_num"] / f["reab_den"], 2)
        for key, name in (("care_quality", "care_quality_good_or_outstanding"), ("savings", "cumulative_savings_gbp_m"),
                          ("workforce", "workforce")):
            for y, v in sorted(self.annual[key].items()):
                out[name][str(y)] = round(float(v), 3)
        return out

    def table(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.rows.items()}
