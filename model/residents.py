"""Residents: the whole borough held in columns (NumPy arrays), one slot per person.

Residents are too many for one Python object each, so their state lives in arrays updated by the fused
per-resident passes (passes.py; Mesa's advice for large populations). Slots are never reused: a death clears
`alive`, a birth or an in-migrant takes the next free slot, so a person's index is their identity for the
whole run and their history can be followed (`DealModel.resident_history`). Each resident also carries a
`key`, the id their random draws are keyed to (rng.py): the initial residents 0..N-1, a newcomer a number
made of its arrival month, kind and rank, so a newcomer meets the same luck in both arms of a comparison
even when an earlier month's counts differed. `ResidentView` is a Mesa Agent that reads and writes one
resident's columns, for inspection and the web app, holding no state of its own.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np
from scipy import optimize, special

from .parameters import PopulationParams, Scenario
from .rng import Keys, normals, uniforms

DATA_DIR = Path(__file__).parent / "data"

HOME, HOME_CARE, CARE_HOME, HOSPITAL = 0, 1, 2, 3
SETTINGS = {HOME: "home", HOME_CARE: "home with care", CARE_HOME: "care home", HOSPITAL: "hospital"}
NEVER = -(10**6)  # a month index long before any simulation

COLUMNS = {
    # name: (dtype, meaning)
    "key": (np.int64, "the id random draws are keyed to: 0..N-1 at the start, arrival (month, kind, rank) after"),
    "alive": (np.bool_, "alive and living in the borough"),
    "sex": (np.int8, "0 female, 1 male"),
    "age": (np.float32, "years"),
    "area": (np.int16, "place-based service area"),
    "ward": (np.int16, "electoral ward"),
    "dep": (np.float32, "deprivation: national percentile of the home's small area, 1 = most deprived"),
    "u": (np.float32, "individual frailty deviation, AR(1), stationary N(0,1)"),
    "gomp": (np.float32, "Gompertz term a exp(b age) of the mortality hazard (per year), kept up to date as people age"),
    "prot": (np.float32, "protection built from connection and support (frailty SD)"),
    "eta": (np.float32, "personal connectedness offset"),
    "connect": (np.float32, "social connectedness 0-1"),
    "group": (np.int32, "community group id, -1 none"),
    "volunteer": (np.bool_, "volunteers at least monthly"),
    "trust": (np.float32, "trust in the council 0-1"),
    "setting": (np.int8, "0 home, 1 home with care, 2 care home, 3 hospital"),
    "prev_setting": (np.int8, "setting before a hospital admission"),
    "funded": (np.bool_, "care-home place funded by the council"),
    "reab_until": (np.int32, "month index reablement ends (NEVER if none)"),
    "last_contact": (np.int32, "month index of last front-door conversation"),
    "last_sb": (np.int32, "month index of last strengths-based conversation"),
}


@dataclass
class AgeTable:
    """Counts by 5-year band (last open) and sex, as in the census file."""

    starts: np.ndarray
    female: np.ndarray
    male: np.ndarray


def read_age_table(name: str) -> AgeTable:
    path = Path(name) if ("/" in name or Path(name).is_absolute()) else DATA_DIR / name
    starts, fem, mal = [], [], []
    with open(path, newline="") as fh:
        rows = [r for r in fh if not r.startswith("#")]
    for r in csv.DictReader(rows):
        band = r["age_band"].strip()
        starts.append(int(band.split("-")[0].rstrip("+")))
        fem.append(int(r["female"]))
        mal.append(int(r["male"]))
    return AgeTable(np.array(starts), np.array(fem, float), np.array(mal, float))


def synthetic_age_table(total: int, share_65_plus: float) -> AgeTable:
    """An age table from two totals: Wigan's 2011 shape, reweighted above and below 65 (councils that give only totals)."""
    t = read_age_table("wigan_census2011_age_sex.csv")
    old = t.starts >= 65
    both = t.female + t.male
    w = np.where(old, share_65_plus / both[old].sum(), (1 - share_65_plus) / both[~old].sum()) * total
    return AgeTable(t.starts, t.female * w, t.male * w)


def deprivation_beta(share_top_decile: float) -> tuple[float, float]:
    """Beta(a, 2-a) whose mass above 0.9 equals the share of small areas in England's most deprived decile
    (uniform, a=1, gives 0.1: the national average)."""
    share = float(np.clip(share_top_decile, 0.005, 0.6))
    f = lambda a: 1.0 - special.betainc(a, 2 - a, 0.9) - share  # noqa: E731
    a = optimize.brentq(f, 0.05, 1.95)
    return a, 2 - a


class Residents:
    """Columns for every resident slot; `n` slots are in use, `capacity` allocated."""

    def __init__(self, n: int, capacity: int):
        self.n = n
        self.capacity = capacity
        for name, (dt, _) in COLUMNS.items():
            setattr(self, name, np.zeros(capacity, dtype=dt))
        self.group[:] = -1
        self.reab_until[:] = NEVER
        self.last_contact[:] = NEVER
        self.last_sb[:] = NEVER

    def view(self, name: str) -> np.ndarray:
        """The in-use part of a column."""
        return getattr(self, name)[: self.n]

    def add(self, k: int) -> slice:
        """Reserve k new slots (growing the arrays if needed) and return them."""
        if self.n + k > self.capacity:
            new_cap = int((self.n + k) * 1.25) + 16
            for name in COLUMNS:
                old = getattr(self, name)
                arr = np.zeros(new_cap, dtype=old.dtype)
                arr[: self.capacity] = old[: self.capacity]
                if name == "group":
                    arr[self.capacity:] = -1
                elif name in ("reab_until", "last_contact", "last_sb"):
                    arr[self.capacity:] = NEVER
                setattr(self, name, arr)
            self.capacity = new_cap
        s = slice(self.n, self.n + k)
        self.n += k
        return s


@dataclass
class Places:
    """How residents are spread over places, kept so newcomers can be placed the same way as the first."""

    dep_a: float
    dep_b: float
    ward_cuts: np.ndarray   # deprivation-plus-noise values at the ward boundaries
    ward_noise_sd: float
    service_areas: int

    def place(self, u_dep: np.ndarray, z_ward: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Deprivation, ward and service area from a uniform and a normal draw per resident."""
        dep = special.betaincinv(self.dep_a, self.dep_b, u_dep).astype(np.float32)
        ward = np.searchsorted(self.ward_cuts, dep + self.ward_noise_sd * z_ward, side="right").astype(np.int16)
        return dep, ward, (ward % self.service_areas).astype(np.int16)


def build_population(p: PopulationParams, scenario: Scenario, scale: float, keys: Keys,
                     base_dir: Path | None = None) -> tuple[Residents, float, Places]:
    """The initial residents: ages and sexes from the age table, deprivation and wards by place.

    Every draw is keyed to the resident's id (rng.py). Returns the residents, the full-scale population
    they stand for, and the places (for newcomers)."""
    if p.age_sex_table is not None:
        table = read_age_table(p.age_sex_table if base_dir is None or "/" not in p.age_sex_table
                               else str(base_dir / p.age_sex_table))
    else:
        table = synthetic_age_table(int(p.total), float(p.share_65_plus))  # type: ignore[arg-type]
    full = float(table.female.sum() + table.male.sum())
    n = max(int(round(full * scale)), 50)
    counts = np.concatenate([table.female, table.male])
    probs = counts / counts.sum()
    # Deterministic allocation (largest remainder) keeps the sample's age structure exact at any scale.
    exact = probs * n
    alloc = np.floor(exact).astype(int)
    alloc[np.argsort(exact - alloc)[::-1][: n - alloc.sum()]] += 1
    nb = len(table.starts)
    ids = np.arange(n, dtype=np.int64)
    k = lambda d: keys.month("init", d, 0)  # noqa: E731
    order = np.argsort(uniforms(k("order"), ids), kind="stable")  # which census cell each id is
    sex = np.repeat(np.r_[np.zeros(nb, int), np.ones(nb, int)], alloc)[order]
    lo = np.tile(table.starts, 2)
    hi = np.tile(np.r_[table.starts[1:], [np.nan]], 2)
    band_lo = np.repeat(lo, alloc).astype(float)[order]
    band_hi = np.repeat(hi, alloc)[order]
    open_band = np.isnan(band_hi)
    age = band_lo + uniforms(k("age"), ids) * np.where(open_band, 0, band_hi - band_lo)
    # Open top band: ages beyond its start fall off exponentially.
    e = -np.log1p(-uniforms(k("open_band"), ids[open_band])) * p.open_band_mean_years
    age[open_band] = band_lo[open_band] + np.minimum(e, p.open_band_max_years)
    res = Residents(n, int(n * 1.45) + 64)
    res.key[:n] = ids
    res.alive[:n] = True
    res.sex[:n] = sex
    res.age[:n] = age
    a, b = deprivation_beta(p.share_lsoas_most_deprived_decile)
    dep = special.betaincinv(a, b, uniforms(k("deprivation"), ids))
    res.dep[:n] = dep
    # Wards are places: rank residents by deprivation plus noise, so wards differ but overlap; service areas
    # mix wards of different deprivation (wards dealt out in turn).
    place_key = dep + p.ward_noise_sd * normals(k("ward"), ids)
    ward = np.empty(n, np.int16)
    ranked = np.argsort(place_key, kind="stable")
    ward[ranked] = (np.arange(n) * p.wards // n).astype(np.int16)
    first = np.searchsorted((np.arange(n) * p.wards // n), np.arange(1, p.wards))
    cuts = place_key[ranked][np.minimum(first, n - 1)].astype(np.float64)
    res.ward[:n] = ward
    res.area[:n] = (ward % p.service_areas).astype(np.int16)
    res.u[:n] = normals(k("frailty"), ids)
    res.eta[:n] = normals(k("connect"), ids)
    return res, full, Places(a, b, cuts, p.ward_noise_sd, p.service_areas)


class ResidentView(mesa.Agent):
    """A Mesa Agent for one resident that reads and writes that resident's columns (no state of its own)."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    def __getattr__(self, name: str):
        if name in COLUMNS:
            return getattr(self.model.residents, name)[self.index]
        raise AttributeError(name)

    def __setattr__(self, name: str, value) -> None:
        if name in COLUMNS:
            getattr(self.model.residents, name)[self.index] = value
        else:
            super().__setattr__(name, value)

    def step(self) -> None:  # residents are stepped by the vectorised rules, never one by one
        pass
