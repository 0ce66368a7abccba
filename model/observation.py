"""Observation model: turn simulated counts into statistics measured the way publishers measure them.

Calibration must compare like with like. ONS does not observe anybody's "true" healthy life
expectancy: it pools three years of deaths and mid-year populations into an abridged life table,
multiplies the person-years lived in each age band by the share of survey respondents reporting
good health (the Sullivan method), and reports the result for a 3-year period label such as
"2009-11". ASCOF reports counts per 100,000 of a population for financial years ("2014/15"), and
a volatile series is best calibrated on multi-year means. The functions here reproduce those
steps from the model's counts, so the model's output carries the same definitions, period
conventions and survey sampling noise as the observed series.

All functions are pure (no model state) and use numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LIFE_TABLE_AGES",
    "RADIX",
    "INFANT_SEPARATION",
    "age_band_index",
    "life_table",
    "sullivan",
    "ons_adjustment",
    "three_year_label",
    "financial_year_label",
    "financial_year_start",
    "pool_years",
    "survey_sample",
    "survey_counts",
    "per_100k",
    "rolling_mean",
]

#: Lower bounds (years) of the ONS abridged life-table age bands: <1, 1-4, 5-9, ..., 85-89, 90+.
LIFE_TABLE_AGES: tuple[int, ...] = (0, 1) + tuple(range(5, 95, 5))

#: Life-table radix l_0 (ONS convention).
RADIX: float = 100_000.0

#: Fraction of the first year of life lived, on average, by infants who die (ONS uses 0.1):
#: infant deaths cluster in the first weeks, so the mid-interval a = n/2 would overstate L_0.
INFANT_SEPARATION: float = 0.1


# --------------------------------------------------------------------------------------------
# Life table and Sullivan healthy life expectancy
# --------------------------------------------------------------------------------------------


def _check_starts(starts) -> np.ndarray:
    """Validate band lower bounds: the life table needs strictly increasing, non-negative ages."""
    s = np.asarray(starts, dtype=float)
    if s.ndim != 1 or s.size < 2:
        raise ValueError("starts must be a 1-D sequence of at least two band lower bounds")
    if s[0] < 0 or np.any(np.diff(s) <= 0):
        raise ValueError(f"starts must be non-negative and strictly increasing, got {tuple(starts)}")
    return s


def age_band_index(ages: np.ndarray, starts=LIFE_TABLE_AGES) -> np.ndarray:
    """Map ages in years (float) to life-table band indices 0..len(starts)-1.

    Band i covers [starts[i], starts[i+1]); the last band is open. Exact birthdays belong to the
    band they open (age 1.0 -> band "1-4"), as in ONS tables. Vectorised with np.searchsorted so
    it can be applied to a whole agent population each step.
    """
    s = _check_starts(starts)
    a = np.asarray(ages, dtype=float)
    if np.any(np.isnan(a)):
        raise ValueError("ages contain NaN")
    if np.any(a < s[0]):
        raise ValueError(f"ages below the first band start {s[0]:g} cannot be placed in a band")
    return np.searchsorted(s, a, side="right") - 1


def _separation_factors(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band widths n_x (last = inf) and separation factors a_x (n/2; 0.1 for the infant band)."""
    n = np.append(np.diff(starts), np.inf)
    a = n / 2.0
    if starts[0] == 0 and n[0] == 1:
        a[0] = INFANT_SEPARATION
    return n, a


def life_table(deaths, person_years, starts=LIFE_TABLE_AGES) -> dict:
    """Abridged (Chiang II) period life table, as ONS computes it for subnational areas.

    M_x = deaths / person-years; q_x = n M / (1 + (n - a_x) M) with a_x = n/2 except
    a_0 = 0.1; q of the open band = 1; l_0 = 100,000; L_x = n l_{x+1} + a_x d_x for closed bands
    and L = l_x / M for the open band; T_x = sum of L from x up; e_x = T_x / l_x.

    A closed band with no exposure (possible in a small or scaled-down simulated population) gets
    M = 0, i.e. nobody dies there. q_x is capped at 1: with very few person-years M can be so large
    that the formula exceeds 1, which would make l negative. Where l_x = 0, e_x is NaN.

    Returns a dict of arrays mx, qx, dx, lx, Lx, Tx, ex, ax, nx and the float "le" = e at the first
    band start (life expectancy at birth for the default bands).
    """
    s = _check_starts(starts)
    D = np.asarray(deaths, dtype=float)
    P = np.asarray(person_years, dtype=float)
    k = s.size
    if D.shape != (k,) or P.shape != (k,):
        raise ValueError(f"deaths and person_years must both have shape ({k},), got {D.shape} and {P.shape}")
    if np.any(~np.isfinite(D)) or np.any(~np.isfinite(P)) or np.any(D < 0) or np.any(P < 0):
        raise ValueError("deaths and person_years must be finite and non-negative")
    if P[-1] <= 0:
        raise ValueError(
            f"open age band {s[-1]:g}+ has no person-years: its life expectancy l/M cannot be "
            "computed (the table needs survivors' exposure in the oldest band)"
        )
    if D[-1] <= 0:
        raise ValueError(
            f"open age band {s[-1]:g}+ has no deaths: M = 0 there would make L = l/M infinite, "
            "so life expectancy is undefined (pool more years or a larger population)"
        )
    bad = (P == 0) & (D > 0)
    if np.any(bad):
        raise ValueError(
            f"deaths recorded in band(s) starting at {s[bad].tolist()} with zero person-years: "
            "the counts are inconsistent (deaths must come from exposed people)"
        )

    n, a = _separation_factors(s)
    M = np.divide(D, P, out=np.zeros(k), where=P > 0)

    q = np.empty(k)
    nc, ac, Mc = n[:-1], a[:-1], M[:-1]
    q[:-1] = np.minimum(nc * Mc / (1.0 + (nc - ac) * Mc), 1.0)
    q[-1] = 1.0

    l = np.empty(k)
    l[0] = RADIX
    for i in range(1, k):
        l[i] = l[i - 1] * (1.0 - q[i - 1])
    d = l * q

    L = np.empty(k)
    L[:-1] = nc * l[1:] + ac * d[:-1]
    L[-1] = l[-1] / M[-1]

    T = np.cumsum(L[::-1])[::-1]
    e = np.divide(T, l, out=np.full(k, np.nan), where=l > 0)
    return {
        "mx": M, "qx": q, "dx": d, "lx": l, "Lx": L, "Tx": T, "ex": e,
        "ax": a, "nx": n, "le": float(e[0]),
    }


def _donor_bands(respondents: np.ndarray) -> np.ndarray:
    """For each band, the index of the nearest band (by band index) that has respondents.

    Ties go to the younger band. A band with its own respondents is its own donor.
    """
    has = np.flatnonzero(respondents > 0)
    idx = np.arange(respondents.size)
    dist = np.abs(idx[:, None] - has[None, :])
    return has[np.argmin(dist, axis=1)]  # argmin returns the first (= younger) on ties


def sullivan(deaths, person_years, good, respondents, starts=LIFE_TABLE_AGES, donor=None, factor=None) -> dict:
    """Sullivan healthy life expectancy: HLE = sum_x L_x p_x / l_0, with p_x the survey prevalence.

    `good` and `respondents` are per-band counts of survey respondents reporting good health and of
    all respondents. `hle_se` is the standard error from survey sampling only, with the life table
    treated as fixed (survey sampling dominates a borough's HLE error):
    Var = sum_x L_x^2 p_x (1 - p_x) / n_x / l_0^2.

    Bands with zero respondents borrow the prevalence of the nearest band (by band index, ties to
    the younger band) that has respondents -- a small survey often misses the youngest or oldest
    band. A borrowed prevalence is the donor's estimate, so its error is not independent: the
    variance uses the donor's summed weight, (L_donor + L_borrowers)^2 p(1-p)/n_donor, which reduces
    to the usual formula when nothing is borrowed and does not pretend borrowing adds information.

    `donor` and `factor` (optional, per band) replace the nearest-band rule: band x then has prevalence
    min(1, factor_x p_donor_x), and its error counts factor_x L_x onto the donor (ONS's census adjustment for
    bands the survey does not cover, `ons_adjustment`).

    Returns le, hle, hle_se (floats), prevalence (array, after borrowing), donor (array) and the
    life table under "table".
    """
    s = _check_starts(starts)
    G = np.asarray(good, dtype=float)
    R = np.asarray(respondents, dtype=float)
    k = s.size
    if G.shape != (k,) or R.shape != (k,):
        raise ValueError(f"good and respondents must both have shape ({k},), got {G.shape} and {R.shape}")
    if np.any(G < 0) or np.any(G > R):
        raise ValueError("need 0 <= good <= respondents in every band")
    if not np.any(R > 0):
        raise ValueError("no survey respondents in any band: health prevalence cannot be estimated")

    table = life_table(deaths, person_years, s)
    L = table["Lx"]
    donor = _donor_bands(R) if donor is None else np.asarray(donor, dtype=np.intp)
    f = np.ones(k) if factor is None else np.asarray(factor, dtype=float)
    if np.any(R[donor] <= 0):
        raise ValueError("every band's donor must have respondents")
    p_own = np.divide(G, R, out=np.zeros(k), where=R > 0)
    p = np.minimum(f * p_own[donor], 1.0)
    hle = float(np.sum(L * p) / RADIX)

    weight = np.bincount(donor, weights=L * f, minlength=k)  # L summed onto each donor band
    var_terms = np.divide(weight**2 * p_own * (1.0 - p_own), R, out=np.zeros(k), where=R > 0)
    hle_se = float(np.sqrt(np.sum(var_terms)) / RADIX)
    return {
        "le": table["le"], "hle": hle, "hle_se": hle_se,
        "prevalence": p, "donor": donor, "table": table,
    }


def ons_adjustment(respondents, census_good, census_pop, first_surveyed: int = 4, last_surveyed: int = 17,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Donor band and factor per band, as ONS imputes prevalence where the survey does not reach.

    The Annual Population Survey covers people aged 16+ in private households. ONS imputes good-health
    prevalence for the bands under 15 (the survey's first band, 15-19, times the census ratio between each
    band and that band) and for 85-89 and 90+ (80-84 times the census ratio), where local survey data are
    too sparse (ONS, "Census proportions: health and disability-free", dataset page; health state life
    expectancies QMI). The census covers everyone, communal establishments included; the model's census is
    its whole population, pooled like the survey. Bands between keep their own respondents, or the nearest
    surveyed band's when they have none. Returns (donor, factor)."""
    R = np.asarray(respondents, dtype=float)
    cg = np.asarray(census_good, dtype=float)
    cp = np.asarray(census_pop, dtype=float)
    k = R.size
    inner = np.zeros(k)
    inner[first_surveyed:last_surveyed + 1] = R[first_surveyed:last_surveyed + 1]
    if not np.any(inner > 0):
        raise ValueError("no survey respondents in any surveyed band: health prevalence cannot be estimated")
    donor = _donor_bands(inner)
    pc = np.divide(cg, cp, out=np.full(k, np.nan), where=cp > 0)
    factor = np.ones(k)
    for lo, hi, ref in ((0, first_surveyed, first_surveyed), (last_surveyed + 1, k, last_surveyed)):
        for x in range(lo, hi):
            donor[x] = donor[ref]
            ratio = pc[x] / pc[ref] if np.isfinite(pc[x]) and np.isfinite(pc[ref]) and pc[ref] > 0 else 1.0
            factor[x] = ratio
    return donor, factor


# --------------------------------------------------------------------------------------------
# Period labels
# --------------------------------------------------------------------------------------------


def three_year_label(first_year: int) -> str:
    """ONS/Fingertips label of a 3-year pooled period: 2009 -> "2009-11", 2099 -> "2099-01"."""
    return f"{first_year}-{(first_year + 2) % 100:02d}"


def _check_month(month: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")


def financial_year_start(year: int, month: int) -> int:
    """Calendar year in which the UK financial year (April-March) containing (year, month) starts."""
    _check_month(month)
    return year if month >= 4 else year - 1


def financial_year_label(year: int, month: int) -> str:
    """ASCOF label of the financial year containing (year, month): April 2014..March 2015 -> "2014/15"."""
    start = financial_year_start(year, month)
    return f"{start}/{(start + 1) % 100:02d}"


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------


def pool_years(arrays_by_year: dict[int, np.ndarray], first_year: int, n_years: int = 3) -> np.ndarray:
    """Sum per-year count arrays over first_year..first_year+n_years-1.

    ONS pools three years of deaths, person-years and survey responses before computing HLE, so
    the simulated counts must be pooled the same way (summing counts, not averaging rates).
    """
    if n_years < 1:
        raise ValueError(f"n_years must be >= 1, got {n_years}")
    years = range(first_year, first_year + n_years)
    missing = [y for y in years if y not in arrays_by_year]
    if missing:
        raise KeyError(
            f"cannot pool {first_year}-{first_year + n_years - 1}: missing year(s) {missing}; "
            f"available: {sorted(arrays_by_year)}"
        )
    arrays = [np.asarray(arrays_by_year[y]) for y in years]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"arrays to pool have different shapes: {sorted(shapes)}")
    return np.sum(np.stack(arrays), axis=0)


# --------------------------------------------------------------------------------------------
# Simulated survey
# --------------------------------------------------------------------------------------------


def survey_sample(
    rng: np.random.Generator, eligible: np.ndarray, n: int, *, replace: bool = False
) -> np.ndarray:
    """Indices of n survey respondents drawn from the index array `eligible`.

    The real survey (APS) has a fixed sample size whatever the population, and its sampling noise is
    what makes borough HLE move by ~2 years. To reproduce that noise in a scaled-down population,
    draw with replacement (each agent stands for many residents, so the same agent may answer
    twice). Without replacement (full scale), draw distinct people, or everybody if fewer than n.
    """
    elig = np.asarray(eligible)
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if elig.size == 0 or n == 0:
        return elig[:0].copy()
    if replace:
        return rng.choice(elig, size=n, replace=True)
    if elig.size <= n:
        return elig.copy()
    return rng.choice(elig, size=n, replace=False)


def survey_counts(band_idx: np.ndarray, good: np.ndarray, n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-band (good-health count, respondent count) for the respondents' bands and answers.

    These are the `good` and `respondents` inputs of `sullivan`.
    """
    b = np.asarray(band_idx, dtype=np.intp)
    g = np.asarray(good, dtype=bool)
    if b.shape != g.shape:
        raise ValueError(f"band_idx and good must have the same shape, got {b.shape} and {g.shape}")
    if b.size and (b.min() < 0 or b.max() >= n_bands):
        raise ValueError(f"band indices must lie in 0..{n_bands - 1}")
    respondents = np.bincount(b, minlength=n_bands)
    good_counts = np.bincount(b[g], minlength=n_bands)
    return good_counts, respondents


# --------------------------------------------------------------------------------------------
# ASCOF-style rates
# --------------------------------------------------------------------------------------------


def per_100k(count: float, population: float) -> float:
    """Rate per 100,000 population (ASCOF 2A(2) style); NaN when the population is 0."""
    if population < 0:
        raise ValueError(f"population must be non-negative, got {population}")
    if population == 0:
        return float("nan")
    return float(count) / float(population) * 100_000.0


def rolling_mean(values: dict[str, float], window: int) -> dict[str, float]:
    """Means over `window` consecutive entries (insertion order), keyed by each window's last label.

    Volatile series such as ASCOF 2A(2) (378 -> 685 -> 377) are calibrated on multi-year means.
    The caller must supply consecutive periods with no gaps (use NaN for a missing year: a window
    containing NaN gives NaN rather than silently averaging across the gap).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    labels = list(values)
    x = np.array([values[k] for k in labels], dtype=float)
    return {
        labels[i]: float(np.mean(x[i - window + 1 : i + 1])) for i in range(window - 1, len(labels))
    }
