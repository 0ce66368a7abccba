"""Measuring like the real world: the monthly table and the published statistics (brief section 3).

The recorder keeps one row a month of aggregate state (full-scale counts), plus what the publishers would
have collected: deaths by sex and age band through each calendar year, the mid-year (July) population as
exposure, a simulated Annual Population Survey sample of realistic size each July, and ASCOF counts per
financial year. `outcomes()` turns them into the published measures (observation.py does the maths).

Healthy life expectancy comes on two bases: as ONS would publish it (`hle_male`: the simulated survey of
residents 16+ in private households, other bands imputed as ONS does) and as it truly is in the simulated
population (`hle_male_true`: everyone's good health each July, no survey), so a reader can see how much of a
published change would be survey noise. Life tables come on two bases too: `le_male` from the deaths, as ONS
counts them, and `le_male_true` (and the true HLE) from the expected deaths: the deaths the mid-year
population's own hazards imply over the year (twelve times each July resident's death probability that month,
the central death rate a life table estimates), without the chance of who happens to die. At 5% scale that
cuts the run-to-run sd of life expectancy about sixfold, and it is what a full-scale population's deaths
approach. Periods that cannot be measured (too few residents at a tiny scale) are listed in `missing` with the
reason.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from . import observation as obs
from .calendar import fy_label, month_of, year_of

N_BANDS = len(obs.LIFE_TABLE_AGES)
HLE = ("hle_male", "hle_female", "hle_male_true", "hle_female_true")


def sullivan_robust(deaths: np.ndarray, exposure: np.ndarray, good: np.ndarray, resp: np.ndarray,
                    census_good: np.ndarray | None = None, census_pop: np.ndarray | None = None
                    ) -> tuple[dict | None, str]:
    """Sullivan HLE on ONS's bands; if the open 90+ band has no deaths (small samples), on bands closed at 85+
    as ONS did for small areas. With a census, prevalence outside the surveyed bands is imputed as ONS does
    (observation.ons_adjustment). Returns (result, "") or (None, the reason it cannot be computed)."""
    def attempt(d, e, g, n, cg, cp, starts):
        if cg is None:
            return obs.sullivan(d, e, g, n, starts=starts)
        donor, factor = obs.ons_adjustment(n, cg, cp, last_surveyed=len(starts) - 3)
        return obs.sullivan(d, e, g, n, starts=starts, donor=donor, factor=factor)

    try:
        return attempt(deaths, exposure, good, resp, census_good, census_pop, obs.LIFE_TABLE_AGES), ""
    except ValueError:
        pass
    merge = lambda a: None if a is None else np.r_[a[:-2], a[-2:].sum()]  # noqa: E731
    try:
        return attempt(merge(deaths), merge(exposure), merge(good), merge(resp), merge(census_good),
                       merge(census_pop), obs.LIFE_TABLE_AGES[:-1]), ""
    except ValueError as exc:
        return None, str(exc)


class Recorder:
    def __init__(self, start: int, end: int):
        self.start, self.end = start, end
        self.rows: dict[str, list] = defaultdict(list)
        self.months: list[int] = []
        self.deaths: dict[int, np.ndarray] = defaultdict(lambda: np.zeros((2, N_BANDS)))
        self.expected_deaths: dict[int, np.ndarray] = defaultdict(lambda: np.zeros((2, N_BANDS)))
        self.exposure: dict[int, np.ndarray] = {}
        self.good: dict[int, np.ndarray] = {}
        self.resp: dict[int, np.ndarray] = {}
        self.census_good: dict[int, np.ndarray] = {}
        self.census_pop: dict[int, np.ndarray] = {}
        self.missing: dict[str, dict[str, str]] = {}
        self.fy: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.annual: dict[str, dict[int, float]] = defaultdict(dict)

    def row(self, m: int, values: dict[str, float]) -> None:
        self.months.append(m)
        for k, v in values.items():
            self.rows[k].append(v)

    def add_deaths(self, m: int, by_sex_band: np.ndarray) -> None:
        """The month's deaths by sex and band."""
        self.deaths[year_of(m)] += by_sex_band

    def mid_year(self, m: int, exposure: np.ndarray, census_good: np.ndarray, expected: np.ndarray,
                 s_age: np.ndarray, s_sex: np.ndarray, s_good: np.ndarray, scale_inv: float) -> None:
        """July: exposure (mid-year population by sex and band, full scale), the whole population's good
        health by sex and band (the model's census, and the truth), the year's deaths the mid-year population's
        hazards imply (model scale, like the deaths), and the survey's respondents."""
        y = year_of(m)
        self.expected_deaths[y] = expected.astype(float)
        self.exposure[y] = exposure * scale_inv
        self.census_pop[y] = exposure.astype(float)
        self.census_good[y] = census_good.astype(float)
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
            "hle_male", "hle_female", "hle_male_true", "hle_female_true", "le_male", "le_female",
            "le_male_true", "le_female_true", "hle_male_se", "hle_female_se",
            "care_home_admissions_65plus_per_100k", "still_at_home_91d_pct", "delayed_transfers_per_100k",
            "care_quality_good_or_outstanding", "cumulative_savings_gbp_m", "workforce")}
        years = self.complete_years()
        for y in years:
            if y + 1 in years and y + 2 in years:
                lab = obs.three_year_label(y)
                d = sum(self.deaths.get(y + i, np.zeros((2, N_BANDS))) for i in range(3)) / scale
                de = sum(self.expected_deaths.get(y + i, np.zeros((2, N_BANDS))) for i in range(3)) / scale
                e = obs.pool_years(self.exposure, y)
                g = obs.pool_years(self.good, y)
                n = obs.pool_years(self.resp, y)
                cg = obs.pool_years(self.census_good, y)
                cp = obs.pool_years(self.census_pop, y)
                for s, name in ((1, "male"), (0, "female")):
                    res, why = sullivan_robust(d[s], e[s], g[s], n[s], cg[s], cp[s])
                    published_le, why_le = sullivan_robust(d[s], e[s], cg[s], cp[s])
                    true, why_true = sullivan_robust(de[s], e[s], cg[s], cp[s])
                    if res is None:  # too few people to measure (tiny --scale): reported as missing
                        self.missing.setdefault(f"hle_{name}", {})[lab] = why
                    else:
                        out[f"hle_{name}"][lab] = round(float(res["hle"]), 3)
                        out[f"hle_{name}_se"][lab] = round(float(res["hle_se"]), 3)
                    if published_le is None:
                        self.missing.setdefault(f"le_{name}", {})[lab] = why_le
                    else:
                        out[f"le_{name}"][lab] = round(float(published_le["le"]), 3)
                    if true is None:
                        self.missing.setdefault(f"hle_{name}_true", {})[lab] = why_true
                        self.missing.setdefault(f"le_{name}_true", {})[lab] = why_true
                    else:
                        out[f"hle_{name}_true"][lab] = round(float(true["hle"]), 3)
                        out[f"le_{name}_true"][lab] = round(float(true["le"]), 3)
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
