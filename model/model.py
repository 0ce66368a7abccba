"""DealModel: the Mesa model of Wigan's Deal, with its monthly step written down once.

Order of one monthly step (docs/ODD.md, "Process overview and scheduling", is the same list):
  1. context      national trends and Greater Manchester devolution (context.py)
  2. adoption     how strongly each Deal lever is pulled in each area this month (adoption.py)
  3. trust        residents' trust follows last month's tax, investment, conversations, cuts (relationship.py)
  4. staff        training, autonomy, practice choice, morale; turnover and workforce cuts (staff.py)
  5. community    counts of members and volunteers, grants and capacity, closure, founding, fund awards (community.py)
  6. social       volunteering, group joining and leaving, connectedness (social.py)
  7. health       frailty shock and protection; good health, need, care-home level (health.py)
  8. hospital     last month's inpatients discharged, delays; new emergency admissions (hospital.py)
  9. front door   conversations and their paths; reablement ends; home-care moves (frontdoor.py, care_market.py)
 10. care market  care-home placements from every route; providers' quality (care_market.py)
 11. demography   deaths, ageing, births, migration (demography.py)
 12. finance      spending by line, council tax, savings (finance.py)
 13. measurement  the month's row; July: mid-year population and survey (survey.py); 91-day reablement checks
                  (hospital.py); the recorder of outcomes (measures.py)

Couplings from one month to the next: trust (3) reads last month's share of other services cut (12) and last
month's community investment per head (5); community groups (5) read last month's tally of their members and
volunteers (12); staff practice (4) and hospital delays (8) read last month's caseload pressure (9); hospital
admissions from care homes (8) read last month's care quality (10). The per-resident parts of steps 3 and 5-11
run as one fused pass over residents (passes.py), after last month's inpatients have gone through 3-7 (the
reablement offer of step 8 depends on how many of them are in need).

Every random decision is a pure function of (seed, mechanism, decision, month, the resident's or agent's key)
(rng.py), so a Deal run and its no-Deal twin are identical until the Deal's first lever acts, and after that
each resident meets the same luck in both wherever their own state is the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mesa
import numba
import numpy as np

from . import care_market as cm
from . import demography as dg
from . import frontdoor as fd
from . import health as H
from . import hospital as hs
from . import passes as ps
from . import relationship as rl
from . import social as so
from . import survey
from .adoption import Levers, levers_at
from .calendar import days_in_month, fy_start, label, month_of, year_of
from .community import community_month, found, group_arrays, groups_of
from .context import context_at
from .finance import Finance
from .hospital import ReablementFollowUp
from .measures import HLE, Recorder
from .parameters import Scenario, month_index
from .residents import CARE_HOME, COLUMNS, HOME_CARE, HOSPITAL, SETTINGS, ResidentView, build_population
from .rng import Keys, poisson, uniforms
from .staff import Staff, by_area, caseload_pressure, practice_arrays, staff_of, start_programme, workforce_month

MIN_RESIDENTS = 1000  # below this a 3-year life table often has no deaths in its oldest bands


def _gather(buffer: np.ndarray, per_block: np.ndarray) -> np.ndarray:
    """The indices each block wrote into its own stretch of `buffer`, in block order."""
    return np.concatenate([buffer[b * ps.BLOCK: b * ps.BLOCK + k] for b, k in enumerate(per_block.tolist())]
                          or [np.empty(0, np.int64)])


class Tally:
    """The month's sums over the living, per block of residents (passes.py); totals by AGG name."""

    def __init__(self, acc: np.ndarray, pa: np.ndarray, tfa: np.ndarray, mem: np.ndarray, vol: np.ndarray):
        self.blocks = (acc, pa, tfa, mem, vol)
        self.totals = dict(zip(ps.AGG, acc.sum(axis=0).tolist()))
        self.pop_area = pa.sum(axis=0)
        self.trust_factor_area = tfa.sum(axis=0)
        self.members = mem.sum(axis=0)
        self.volunteers = vol.sum(axis=0)

    def __iter__(self):
        return iter(self.blocks)


@dataclass(frozen=True)
class MonthFlows:
    """What one month produced, as the measurement (step 13) records it."""

    m: int
    fy: int
    tkk: ps.TallyK                  # the month's tally constants (the survey reads them)
    death_k: dg.DeathK              # the month's mortality constants (July's expected deaths read them)
    totals: dict[str, float]        # sums over the living (Tally.totals)
    counts: np.ndarray              # the month pass's event counts (passes.C_*)
    delayed_bed_days: float
    births: int
    migrants: int
    levers: Levers
    finance: dict[str, float]


class DealModel(mesa.Model):
    """Residents in columns, staff and community groups as Mesa agents, one step a month."""

    def __init__(self, scenario: Scenario, seed: int = 0, scale: float = 1.0, base_dir: Path | None = None,
                 threads: int = 1):
        """threads: how many threads the passes over residents use (results do not depend on it). One by default,
        because batches of runs (compare, sweeps, calibration) already use every core with one process each."""
        if not 0 < scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        super().__init__(rng=seed)
        self.threads = min(int(threads), numba.config.NUMBA_NUM_THREADS)
        self.sc = scenario
        self.seed = seed
        self.scale = scale
        self.keys = Keys(seed)
        s = scenario
        self.n_areas = s.population.service_areas
        self.start = month_index(s.time.start)
        self.end = month_index(s.time.end)
        self.m = self.start - 12 * s.time.burn_in_years
        self.residents, self.full_population, self.places = build_population(s.population, s, scale, self.keys,
                                                                             base_dir)
        if self.residents.n < MIN_RESIDENTS:
            smallest_scale = MIN_RESIDENTS / self.full_population
            raise ValueError(f"scale {scale:g} gives {self.residents.n} simulated residents, too few to measure life "
                             f"expectancy or the care measures; the smallest workable scale for this population "
                             f"({self.full_population:,.0f}) is {smallest_scale:.2g} ({MIN_RESIDENTS:,} residents)")
        self.scale_inv = self.full_population / self.residents.n  # exact rescaling to the borough
        r = self.residents
        n = r.n
        ids = r.key[:n]
        k0 = lambda d: self.keys.month("init", d, 0)  # noqa: E731
        r.trust[:n] = s.trust.base
        dg.set_gompertz(s.mortality, r, slice(0, n))
        r.connect[:n] = so.equilibrium_connectedness(s.social, r.eta[:n], r.dep[:n])
        # Initial care settings from the same need levels the rules use; the burn-in settles the rest.
        f = H.frailty(s.health, r, 0.0)
        thr = H.thresholds(s.health, r)
        old = r.age[:n] >= 65
        x = uniforms(k0("setting"), ids)
        ch = H.care_home_level(s.health, f, thr, r.age[:n]) & (x < s.care_market.initial_care_home_share)
        r.setting[:n][ch] = CARE_HOME
        r.funded[:n][ch] = uniforms(k0("funded"), ids[ch]) < s.care_market.council_funded_share
        hc = ~ch & H.need_level(s.health, f, thr) & old & (x > 1.0 - s.care_market.initial_home_care_share)
        r.setting[:n][hc] = HOME_CARE
        r.volunteer[:n] = (r.age[:n] >= 16) & (uniforms(k0("volunteer"), ids) < s.social.volunteer_share)
        # Agents.
        self.permitted_autonomy = s.deal.permitted_autonomy
        self.n_staff0 = max(self.n_areas, int(round(s.staff.per_1000_residents * self.full_population / 1000 * scale)))
        for i in range(self.n_staff0):
            Staff(self, i % self.n_areas, s.staff, i)
        self.n_group_ids = 0  # every group ever founded has a gid below this
        n_groups = max(self.n_areas, int(round(s.community.groups_per_1000 * self.full_population / 1000 * scale)))
        for i in range(n_groups):
            found(self, i % self.n_areas, i)
        vols = np.flatnonzero(r.volunteer[:n])
        self._group_index()
        r.group[vols] = self.gindex.choose(r.area[vols].astype(np.int64), uniforms(k0("group"), ids[vols]))
        self.pressure = np.full(self.n_areas, s.staff.initial_pressure)
        self.quality = s.care_market.baseline_quality + s.care_market.national_gain * cm.national_quality_gain(
            s.care_market, self.m)
        self.finance = Finance(s.finance, fix_month=self.start)
        self.follow_up = ReablementFollowUp()
        self.recorder = Recorder(self.start, self.end)
        self.invest_per_head = np.zeros(self.n_areas)
        self.care_home_invest_gbp_m = 0.0
        self.deal_started: int | None = None
        self.tracked: dict[int, list[dict]] = {}
        self._views: dict[int, ResidentView] = {}
        self.last_survey = np.empty(0, np.int64)
        self._shift = 0.0
        self.elapsed = 0.0
        self.tally = self._tally_start()
        self.n0 = n  # residents 0..n0-1 are keyed by their index; newcomers by their arrival key
        self.inpatients = np.flatnonzero(r.alive[:n] & (r.setting[:n] == HOSPITAL)).astype(np.int64)
        # Burn-in under the rules themselves (no recording); the Deal never acts before `start`.
        while self.m < self.start:
            self._month(record=False)
        start_programme(self)  # a council's own strengths-based programme, in both arms

    # ------------------------------------------------------------------ helpers
    def _group_index(self) -> None:
        key, gid, area, spare, cap = group_arrays(groups_of(self))
        self.gindex = so.GroupIndex(key, gid, area, spare, cap, self.n_areas)

    def _tally_k(self, shift: float) -> ps.TallyK:
        hp, sp, tp = self.sc.health, self.sc.social, self.sc.trust
        return ps.TallyK(hp.age_slope_per_decade / 10.0, hp.deprivation_effect, shift, hp.threshold_female,
                         hp.threshold_male, sp.isolation_threshold, 1.0 / tp.base, float(tp.volunteering_elasticity))

    def _tally_arrays(self, blocks: int) -> tuple[np.ndarray, ...]:
        g = self.n_group_ids
        return (np.zeros((blocks, len(ps.AGG))), np.zeros((blocks, self.n_areas)), np.zeros((blocks, self.n_areas)),
                np.zeros((blocks, g), np.int64), np.zeros((blocks, g), np.int64))

    def _tally_start(self) -> "Tally":
        r = self.residents
        arr = self._tally_arrays(ps.n_blocks(r.n))
        ps.tally_all(r.n, ps.cols(r), self._tally_k(0.0), *arr)
        return Tally(*arr)

    @property
    def months_total(self) -> int:
        return self.end - self.start + 1

    @property
    def done(self) -> bool:
        return self.m > self.end

    def step(self) -> None:
        """One recorded month (Mesa counts these in `steps`)."""
        if self.done:
            self.running = False
            return
        self._month(record=True)
        if self.done:
            self.running = False

    def run(self, progress: Callable[[int, int], None] | None = None) -> "DealModel":
        t0 = time.perf_counter()
        while not self.done:
            self.step()
            if progress:
                progress(self.steps, self.months_total)
        self.elapsed += time.perf_counter() - t0
        return self

    def resident(self, index: int) -> ResidentView:
        """A Mesa Agent view of one resident's columns (reads and writes the arrays): one view per resident, made
        on first asking, so asking again registers no new agent."""
        if not 0 <= index < self.residents.n:
            raise IndexError(f"resident {index} does not exist (0..{self.residents.n - 1})")
        view = self._views.get(index)
        if view is None:
            view = self._views[index] = ResidentView(self, index)
        return view

    # ------------------------------------------------------------------ the month
    def _keys(self, names: tuple[tuple[str, str], ...], m: int) -> np.ndarray:
        """The month's keys; a decision in ps.PERSONAL is a property of the person and keeps one key for life."""
        return np.array([self.keys.month(mech, d, 0 if (mech, d) in ps.PERSONAL else m) for mech, d in names],
                        dtype=np.uint64)

    def _month(self, record: bool) -> None:
        numba.set_num_threads(self.threads)
        s, r, m = self.sc, self.residents, self.m
        A = self.n_areas
        # 1. context
        ctx = context_at(s.context, m, self.start)
        # 2. adoption (never before the recorded period starts)
        lev = levers_at(s.deal, m if m >= self.start else self.start - 10**4, A)
        if lev.any_active and self.deal_started is None:
            self.deal_started = m
        fy = fy_start(m)
        self.finance.update_tax(fy, lev.tax_freeze)
        # 3. trust: last month's cuts and investment
        cut = self.finance.last.get("other_services_cut", 0.0)
        tk, trust_by_area = rl.constants(s.trust, lev.tax_freeze, self.invest_per_head, cut)
        # 4. staff
        programme = s.staff.existing_programme if m >= self.start else 0.0  # the council's own, in both arms
        trained_now = workforce_month(self, np.maximum(lev.practice, programme) if programme else lev.practice)
        # 5. community groups (their members leave in pass A)
        paid_k, gone = community_month(self, lev.fund_monthly_gbp_m)
        self._group_index()
        # 3, 5-11: resident by resident; last month's inpatients through 3-7 first (their need sets the offer)
        n = r.n
        c = ps.cols(r)
        blocks = ps.n_blocks(n)
        gi = self.gindex
        keys = self._keys(ps.KEYS, m)
        a_args = (tk, trust_by_area, so.constants(s.social, s.trust), np.asarray(lev.citizen, np.float64), gi.room,
                  gone, ps.GroupArrays(gi.start, gi.total, gi.cum, gi.gid),
                  H.constants(s.health, s.social.connectedness_base, ctx.frailty_shift))
        old_inpatients, old_needy = ps.inpatients_first(self.inpatients, self.n0, m, c, keys, *a_args)
        offer = lev.reablement_offer if lev.reablement_offer is not None else s.hospital.reablement_offer
        home_first = s.deal.home_first * lev.integration
        hk = hs.constants(s.hospital, home_first, hs.offer_probability(s.hospital, offer, old_inpatients, old_needy),
                          self.quality)
        staff = staff_of(self)
        staff_sb, staff_offset, staff_count = by_area(staff, A)
        counts = np.zeros((blocks, ps.N_COUNTS + 1), np.int64)
        deaths = np.zeros((blocks, 2, ps.N_BANDS), np.int64)
        demand = np.zeros((blocks, A), np.int64)
        follow_up = np.empty(blocks * ps.BLOCK, np.int64)
        admitted = np.empty(blocks * ps.BLOCK, np.int64)
        tally = self._tally_arrays(blocks)
        tkk = self._tally_k(ctx.frailty_shift)
        dk = dg.constants(s.mortality, ctx.hazard_male, ctx.hazard_female)
        ps.month_pass(n, self.n0, c, m, keys, *a_args, hk, fd.constants(s.front_door), staff_sb, staff_offset,
                      staff_count, s.community.referral_uptake, s.hospital.reablement_months, s.health.w_reablement,
                      cm.constants(s.care_market, s.front_door, s.hospital),
                      dk, tkk, counts, deaths, demand,
                      follow_up, admitted, *tally)
        self.inpatients = _gather(admitted, counts[:, ps.C_INPATIENTS])
        cnt = counts.sum(axis=0)
        self.follow_up.add(m, fy, _gather(follow_up, counts[:, ps.C_FOLLOW_UP]))
        onward = int(cnt[ps.C_ONWARD])
        mean_delay = hs.mean_delay_days(s.hospital, float(self.pressure.mean()), home_first)
        u_delay = float(uniforms(self.keys.month("hospital", "delay", m), np.zeros(1, np.int64))[0])
        delayed_bed_days = float(poisson(u_delay, max(onward * mean_delay, 0.0)))
        demand_by_area = demand.sum(axis=0)
        self.pressure = caseload_pressure(staff, s.staff, demand_by_area, A)
        # 10. care quality, from this month's care-home residents (before deaths)
        self.care_home_invest_gbp_m += lev.care_home_fund_gbp_m
        ch_places = max(float(cnt[ps.C_CARE_HOME]) * self.scale_inv, 1.0)
        qt = cm.quality_target(s.care_market, m, self.care_home_invest_gbp_m / (ch_places / 1000.0), lev.integration,
                               cut)
        self.quality = cm.step_quality(s.care_market, self.quality, qt)
        # 11. deaths recorded; births and migration
        if record:
            self.recorder.add_deaths(m, deaths.sum(axis=0).astype(float))
        pop_now = int(round(tally[0][:, 0].sum()))
        new, births, gone_out = dg.newcomers(s.population, s.mortality, s.trust, s.social, r, self.places, self.keys,
                                             m, pop_now)
        t0 = self._tally_arrays(1)
        c = ps.cols(r)  # the columns may have grown
        ps.tally_some(np.arange(new.start, new.stop, dtype=np.int64), 1, c, tkk, *t0)
        if gone_out.size:
            ps.tally_some(gone_out.astype(np.int64), -1, c, tkk, *t0)
            dg.remove(r, gone_out)
        migrants = (new.stop - new.start - births) - gone_out.size
        self.tally = Tally(*(np.concatenate([a, b]) for a, b in zip(tally, t0)))
        # 12. finance
        agg = self.tally.totals
        k = self.scale_inv
        reab_eps = int(cnt[ps.C_REABLEMENT])
        fin = self.finance.month(
            m, home_care_clients=agg["home_care"] * k, funded_care_home=agg["care_home_funded"] * k,
            reablement_episodes=reab_eps * k, community_paid_gbp_m=paid_k / 1000.0 * k,
            care_home_fund_gbp_m=lev.care_home_fund_gbp_m,
            training_gbp_m=trained_now * s.deal.training_gbp_per_staff / 1e6 * k)
        # 13. measurement
        self.follow_up.check(r, m, record)
        self._shift = ctx.frailty_shift
        if record and self.tracked:
            self._track_month(m)
        if record:
            self._record(MonthFlows(m, fy, tkk, dk, agg, cnt, delayed_bed_days, births, migrants, lev, fin))
        self.m += 1

    def _record(self, f: MonthFlows) -> None:
        m, fy, tkk, agg, cnt, lev, fin = f.m, f.fy, f.tkk, f.totals, f.counts, f.levers, f.finance
        delayed_bed_days, births, migrants = f.delayed_bed_days, f.births, f.migrants
        k = self.scale_inv
        pop, pop65, pop18 = agg["pop"], agg["pop65"], agg["pop18"]
        rec = self.recorder
        acc = rec.fy
        ch_adm65 = int(cnt[ps.C_CH_ADM_65_FUNDED])
        acc["ch_adm_65"][fy] += ch_adm65 * k
        acc["delayed_days"][fy] += delayed_bed_days * k
        acc["days"][fy] += days_in_month(m)
        if month_of(m) == 7:
            y = year_of(m)
            self.last_survey = survey.mid_year(self, m, tkk, f.death_k)
            acc["pop65"][fy] = pop65 * k
            acc["pop18"][fy] = pop18 * k
            rec.annual["care_quality"][y] = self.quality
            rec.annual["workforce"][y] = fin["workforce"]
        if month_of(m) == 12 or m == self.end:
            rec.annual["savings"][year_of(m)] = fin["savings_gbp_m"]
        for fy_, v in self.follow_up.num.items():
            acc["reab_num"][fy_] = v
        for fy_, v in self.follow_up.den.items():
            acc["reab_den"][fy_] = v
        staff = staff_of(self)
        sa, sb = practice_arrays(staff)
        active = groups_of(self)
        row = {
            "month": label(m),
            "population": pop * k, "population_65_plus": pop65 * k, "births": births * k,
            "deaths": int(cnt[ps.C_DEATHS]) * k, "net_migrants": migrants * k,
            "good_health_share": agg["good"] / pop, "mean_frailty": agg["frailty"] / pop,
            "connectedness_mean": agg["connect"] / pop,
            "isolated_share": agg["isolated_adults"] / agg["adults"],
            "volunteer_share_adults": agg["volunteer_adults"] / agg["adults"],
            "group_members": agg["members"] * k,
            "trust_mean": agg["trust"] / pop,
            "staff_practitioners": len(staff) * k,
            "staff_strengths_based_share": float(sb.mean()) if sb.size else 0.0,
            "staff_trained_share": float(np.mean([a.trained for a in staff])) if staff else 0.0,
            "staff_morale": float(np.mean([a.morale for a in staff])) if staff else 0.0,
            "staff_autonomy": float(np.mean([a.autonomy for a in staff])) if staff else 0.0,
            "caseload_pressure": float(self.pressure.mean()),
            "community_groups": len(active) * k,
            "community_capacity": float(sum(g.capacity for g in active)) * k,
            "front_door_contacts": int(cnt[ps.C_CONTACTS]) * k,
            "strengths_based_conversations": int(cnt[ps.C_STRENGTHS]) * k,
            **{f"path_{name}": int(cnt[ps.C_PATH0 + j]) * k for j, name in enumerate(fd.PATHS)},
            "home_care_clients": agg["home_care"] * k,
            "care_home_residents": agg["care_home"] * k,
            "care_home_admissions_65_funded": ch_adm65 * k,
            "hospital_admissions": int(cnt[ps.C_ADMISSIONS]) * k,
            "hospital_discharges_onward": int(cnt[ps.C_ONWARD]) * k,
            "delayed_bed_days": delayed_bed_days * k,
            "delayed_beds_per_day_per_100k_18plus": delayed_bed_days / days_in_month(m) / max(pop18, 1) * 1e5,
            "reablement_starts": int(cnt[ps.C_REABLEMENT]) * k,
            "care_quality": self.quality,
            "lever_practice": float(lev.practice.mean()), "lever_citizen": float(lev.citizen.mean()),
            "lever_community": lev.community, "lever_integration": lev.integration,
            "tax_frozen": float(lev.tax_freeze),
            **fin,
        }
        rec.row(m, row)

    # ------------------------------------------------------------------ results
    def timeseries(self) -> dict[str, np.ndarray]:
        """One row a month; healthy life expectancy on both bases (survey and true) in the December that ends
        each 3-year period, NaN in other months."""
        t = self.recorder.table()
        o = self.outcomes()
        row = {lab: i for i, lab in enumerate(t.get("month", []))}
        for name in HLE:
            col = np.full(len(row), np.nan)
            for period, v in o[name].items():
                i = row.get(f"{int(period[:4]) + 2}-12")
                if i is not None:
                    col[i] = v
            t[name] = col
        return t

    def outcomes(self) -> dict[str, dict[str, float]]:
        return self.recorder.outcomes(1.0 / self.scale_inv)

    def missing_outcomes(self) -> dict[str, dict[str, str]]:
        """Periods that could not be measured (too few residents at a small scale), with the reason."""
        self.outcomes()
        return {k: dict(v) for k, v in self.recorder.missing.items()}

    def track(self, indices) -> None:
        """Follow these residents month by month from now on (see `resident_history`)."""
        r = self.residents
        for i in indices:
            if not 0 <= int(i) < r.n:
                raise IndexError(f"resident {i} does not exist (0..{r.n - 1})")
            self.tracked.setdefault(int(i), [])

    def _track_month(self, m: int) -> None:
        r = self.residents
        hp = self.sc.health
        for i, rows in self.tracked.items():
            row = {c: getattr(r, c)[i].item() for c in COLUMNS}
            row["month"] = label(m)
            row["setting_name"] = SETTINGS.get(row["setting"], "?") if row["alive"] else "dead"
            idx = np.array([i])
            row["frailty"] = float(H.frailty(hp, r, self._shift, idx)[0])
            row["good_health"] = bool(H.good_health(hp, r, self._shift, idx)[0])
            rows.append(row)

    def resident_history(self, index: int) -> list[dict[str, object]]:
        """One row a recorded month for a tracked resident (`track` first), or just the current state."""
        if index in self.tracked:
            return list(self.tracked[index])
        r = self.residents
        if not 0 <= index < r.n:
            raise IndexError(f"resident {index} does not exist (0..{r.n - 1})")
        d = {c: getattr(r, c)[index].item() for c in COLUMNS}
        d["setting_name"] = SETTINGS.get(d["setting"], "?")
        return [d]
