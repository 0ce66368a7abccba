"""Demography: deaths (Gompertz-Makeham hazard scaled by frailty), ageing, births and migration.

The annual hazard is h = (a exp(b age) + background + infant [age < 1]) x exp(beta excess - beta^2/2)
x context multiplier x (care_home_multiplier in a care home, hospital_multiplier in hospital), with
a = b exp(-b mode) putting the Gompertz mode at the modal age of death and the -beta^2/2 term making the
frailty factor average 1 over u ~ N(0,1). A resident dies in the month with probability 1 - exp(-h/12).
`death` is the rule for one resident (passes.py runs it in the month's pass over residents, after the care market);
the Gompertz term a exp(b age) is a kept column that ageing multiplies by exp(b/12).

Births and in-migrants each month are Poisson counts by inversion of one uniform (rng.poisson), so the two
arms' counts move together when their populations are close. A newcomer's attributes come from draws keyed
to its own key (its arrival month, kind and rank), never copied from another resident: sex, age, where it
lives (deprivation, ward and area drawn as the first residents' were), frailty deviation and connectedness
offset; trust starts at its base. Negative net migration removes the adults 18-40 with the smallest
emigration draws.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .parameters import MortalityParams, PopulationParams, TrustParams, SocialParams
from .residents import CARE_HOME, HOSPITAL, NEVER, Places, Residents
from .rng import Keys, normals, poisson, smallest, uniforms
from .social import equilibrium_connectedness

BIRTH, MIGRANT = 0, 1   # kinds of newcomer in their key
NEWCOMER = 1 << 42      # keys of newcomers, staff hires and new groups start here

DeathK = namedtuple("DeathK", "c_f c_m beta background infant hosp ch ageing")


def arrival_key(m: int, kind: int, rank: np.ndarray | int) -> np.ndarray | int:
    """Key of the rank-th arrival of a kind in month m: unique, and the same in both arms."""
    return NEWCOMER + (m << 21) + (kind << 18) + rank


def constants(p: MortalityParams, hm_male: float, hm_female: float) -> DeathK:
    beta = p.frailty_log_hazard
    return DeathK(np.log(hm_female) - beta * beta / 2, np.log(hm_male) - beta * beta / 2, beta, p.background,
                  p.infant_mortality, p.hospital_multiplier, p.care_home_multiplier,
                  float(np.exp(p.gompertz_slope / 12.0)))


@njit(cache=True, inline="always")
def death(k, age, male, gomp, excess, setting, u):
    """Whether a resident dies this month, from one uniform u: u < 1 - exp(-h/12).

    Since 1 - exp(-x) < x, u >= h/12 means survival; and since exp(z) <= (1 - z/8)^-8 for z < 8, so does
    u (1 - z/8)^8 >= h/12 exp(-z). Most residents are settled by that bound (four multiplications), and the
    exact test (two exponentials) runs only for the few below it: the result is exactly the law's."""
    base = gomp + k.background + (k.infant if age < 1.0 else 0.0)
    mult = k.hosp if setting == HOSPITAL else (k.ch if setting == CARE_HOME else 1.0)
    x0 = base * mult / 12.0
    z = k.beta * excess + (k.c_m if male else k.c_f)
    if z < 8.0:
        t = 1.0 - z * 0.125
        t *= t
        t *= t
        if u * (t * t) >= x0:
            return False
    x = x0 * np.exp(z)
    return u < x and u < -np.expm1(-x)


@njit(cache=True, inline="always")
def death_probability(k, age, male, gomp, excess, setting):
    """The same law's probability of dying this month, 1 - exp(-h/12), for the expected deaths the life tables
    are also computed from (measures.py): what the population's state implies, without the chance of who dies."""
    base = gomp + k.background + (k.infant if age < 1.0 else 0.0)
    mult = k.hosp if setting == HOSPITAL else (k.ch if setting == CARE_HOME else 1.0)
    x = base * mult / 12.0 * np.exp(k.beta * excess + (k.c_m if male else k.c_f))
    return x * (1.0 - 0.5 * x) if x < 1e-4 else -np.expm1(-x)


def set_gompertz(p: MortalityParams, r: Residents, idx) -> None:
    """The Gompertz term for given residents from their age and sex (at creation; ageing updates it)."""
    b = p.gompertz_slope
    mode = np.where(r.sex[idx] == 1, p.modal_age_male, p.modal_age_female)
    r.gomp[idx] = (b * np.exp(b * (r.age[idx] - mode))).astype(np.float32)


def remove(r: Residents, idx: np.ndarray) -> None:
    """Out-migration: the slot stays (identity), the person leaves every role (deaths: passes.py)."""
    r.alive[idx] = False
    r.group[idx] = -1
    r.volunteer[idx] = False
    r.setting[idx] = 0
    r.reab_until[idx] = NEVER


def newcomers(p: PopulationParams, mort: MortalityParams, tp: TrustParams, sp: SocialParams, r: Residents,
              places: Places, keys: Keys, m: int, pop: int) -> tuple[slice, int, np.ndarray]:
    """Births (age 0) and net in-migrants (young adults) of month m, given the living population.

    Returns (the new slots, births, the emigrants chosen: the caller takes them out of the tally, then removes them)."""
    nb = poisson(float(uniforms(keys.month("demography", "births", m), np.zeros(1, np.int64))[0]),
                 p.births_per_1000 / 1000.0 / 12.0 * pop)
    lam = p.net_migration_per_1000 / 1000.0 / 12.0 * pop
    nm = poisson(float(uniforms(keys.month("demography", "migrants", m), np.zeros(1, np.int64))[0]), abs(lam))
    n_mig = nm if lam > 0 else 0
    key = np.r_[arrival_key(m, BIRTH, np.arange(nb)), arrival_key(m, MIGRANT, np.arange(n_mig))].astype(np.int64)
    n_in = key.size
    s = r.add(n_in)
    if n_in:
        k = lambda d: keys.month("demography", d, 0)  # noqa: E731  (the key itself carries the month)
        r.key[s] = key
        r.alive[s] = True
        r.sex[s] = (uniforms(k("sex"), key) < p.male_share_births).astype(np.int8)
        ages = np.zeros(n_in, np.float32)
        ages[nb:] = p.migrant_age_min + uniforms(k("age"), key[nb:]) * (p.migrant_age_max - p.migrant_age_min)
        r.age[s] = ages
        r.dep[s], r.ward[s], r.area[s] = places.place(uniforms(k("deprivation"), key), normals(k("ward"), key))
        r.u[s] = normals(k("frailty"), key)
        r.eta[s] = normals(k("connect"), key)
        r.prot[s] = 0.0
        set_gompertz(mort, r, s)
        r.trust[s] = tp.base
        r.connect[s] = equilibrium_connectedness(sp, r.eta[s], r.dep[s])
        r.group[s] = -1
        r.setting[s] = 0
    gone = np.empty(0, np.int64)
    if lam < 0 and nm:
        living = np.flatnonzero(r.alive[: s.start])
        adults = living[(r.age[living] >= p.migrant_age_min) & (r.age[living] < p.migrant_age_max)]
        pick = smallest(keys.month("demography", "emigrate", m), r.key[adults], min(nm, adults.size))
        gone = adults[np.isin(r.key[adults], pick)]
    return s, nb, gone
