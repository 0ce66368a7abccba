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
 13. measurement  the month's row; July: mid-year population and survey; 91-day reablement checks (measures.py)
Each mechanism draws only from its own random stream (streams.py), so a Deal run and its no-Deal twin
(same seed) are identical until the Deal's first lever acts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import mesa
import numpy as np

from . import health as H
from .adoption import levers_at
from .calendar import days_in_month, fy_start, label, month_of, year_of
from .care_market import home_care_transitions, place_in_care_homes, quality_target, step_quality, national_quality_gain
from .community import CommunityGroup, group_arrays, release_members
from .context import context_at
from .demography import age_one_month, deaths as draw_deaths, newcomers, remove, set_gompertz
from .finance import Finance
from .frontdoor import step_front_door
from .hospital import ReablementFollowUp, admit, discharge
from .measures import Recorder, aggregate
from .parameters import Scenario, month_index
from .relationship import step_trust
from .residents import CARE_HOME, COLUMNS, HOME, HOME_CARE, HOSPITAL, NEVER, SETTINGS, ResidentView, build_population
from .social import GroupIndex, equilibrium_connectedness, step_social, trust_factor
from .staff import Staff, practice_arrays, turnover_rate
from .streams import make_streams


class DealModel(mesa.Model):
    """Residents in columns, staff and community groups as Mesa agents, one step a month."""

    def __init__(self, scenario: Scenario, seed: int = 0, scale: float = 1.0, base_dir: Path | None = None):
        if not 0 < scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        super().__init__(rng=seed)
        self.sc = scenario
        self.seed = seed
        self.scale = scale
        self.streams = make_streams(seed)
        s = scenario
        self.n_areas = s.population.service_areas
        self.start = month_index(s.time.start)
        self.end = month_index(s.time.end)
        self.m = self.start - 12 * s.time.burn_in_years
        init = self.streams["init"]
        self.residents, self.full_population = build_population(s.population, s, scale, init, base_dir)
        self.scale_inv = self.full_population / self.residents.n  # exact rescaling to the borough
        r = self.residents
        n = r.n
        r.trust[:n] = s.trust.base
        set_gompertz(s.mortality, r, slice(0, n))
        equilibrium_connectedness(s.social, r)
        # Initial care settings from the same need levels the rules use; the burn-in settles the rest.
        f = H.frailty(s.health, r, 0.0)
        thr = H.thresholds(s.health, r)
        old = r.age[:n] >= 65
        x = init.random(n)
        ch = H.care_home_level(s.health, f, thr, r.age[:n]) & (x < 0.6)
        r.setting[:n][ch] = CARE_HOME
        r.funded[:n][ch] = init.random(int(ch.sum())) < s.care_market.council_funded_share
        hc = ~ch & H.need_level(s.health, f, thr) & old & (x > 0.85)
        r.setting[:n][hc] = HOME_CARE
        vol_share = s.social.volunteer_share
        r.volunteer[:n] = (r.age[:n] >= 16) & (init.random(n) < vol_share)
        # Agents.
        self.permitted_autonomy = s.deal.permitted_autonomy
        self.n_staff0 = max(self.n_areas, int(round(s.staff.per_1000_residents * self.full_population / 1000 * scale)))
        self.staff: list[Staff] = [Staff(self, i % self.n_areas, s.staff) for i in range(self.n_staff0)]
        self.groups: list[CommunityGroup] = []
        n_groups = max(self.n_areas, int(round(s.community.groups_per_1000 * self.full_population / 1000 * scale)))
        for i in range(n_groups):
            self._new_group(i % self.n_areas)
        vols = np.flatnonzero(r.volunteer[:n])
        self._group_index()
        r.group[vols] = self.gindex.choose(r.area[vols].astype(np.int64), init.random(vols.size))
        self.pressure = np.full(self.n_areas, 0.9)
        self.tally = aggregate(r, s.health, 0.0, len(self.groups), self.n_areas, s.trust)
        self.quality = s.care_market.baseline_quality + s.care_market.national_gain * national_quality_gain(self.m)
        self.finance = Finance(s.finance, fix_month=self.start)
        self.follow_up = ReablementFollowUp()
        self.recorder = Recorder(self.start, self.end)
        self.invest_per_head = np.zeros(self.n_areas)
        self.care_home_invest_gbp_m = 0.0
        self.deal_started: int | None = None
        self.tracked: dict[int, list[dict]] = {}
        self._shift = 0.0
        self.elapsed = 0.0
        # Burn-in under the rules themselves (no recording); the Deal never acts before `start`.
        while self.m < self.start:
            self._month(record=False)

    # ------------------------------------------------------------------ helpers
    def _new_group(self, area: int) -> CommunityGroup:
        g = CommunityGroup(self, len(self.groups), area, self.m if hasattr(self, "m") else 0)
        g.capacity = self.sc.community.capacity_base
        self.groups.append(g)
        return g

    def _group_index(self) -> None:
        gid, area, spare, cap = group_arrays(self.groups)
        self.gindex = GroupIndex(gid, area, spare, cap, self.n_areas)

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
        """A Mesa Agent view of one resident's columns (reads and writes the arrays)."""
        return ResidentView(self, index)

    # ------------------------------------------------------------------ the month
    def _month(self, record: bool) -> None:
        s, r, m = self.sc, self.residents, self.m
        st = self.streams
        A = self.n_areas
        # 1. context
        ctx = context_at(s.context, m, self.start)
        # 2. adoption (never before the recorded period starts)
        lev = levers_at(s.deal, m if m >= self.start else self.start - 10**4, A)
        if lev.any_active and self.deal_started is None:
            self.deal_started = m
        fy = fy_start(m)
        self.finance.update_tax(fy, lev.tax_freeze)
        # 3. trust
        cut = self.finance.last.get("other_services_cut", 0.0)
        step_trust(s.trust, r, m, lev.tax_freeze, self.invest_per_head, cut)
        # 4. staff
        trained_now = self._staff_month(lev.practice)
        # 5. community groups
        paid_k = self._community_month(lev.fund_monthly_gbp_m)
        # 6. social life
        step_social(s.social, s.trust, r, st["social"], self.gindex, lev.citizen)
        # 7. health
        hs = H.month(s.health, r, st["health"], s.social.connectedness_base, lev.citizen, ctx.frailty_shift)
        ex, need, chl = hs.excess, hs.need, hs.ch
        # 8. hospital
        offer = lev.reablement_offer if lev.reablement_offer is not None else s.hospital.reablement_offer
        home_first = s.deal.home_first * lev.integration
        dis = discharge(s.hospital, r, st["hospital"], need, chl, home_first, offer, float(self.pressure.mean()))
        adm = admit(s.hospital, r, st["hospital"], hs.gap, need, self.quality)
        self._start_reablement(dis.to_reablement, m)
        old_reab = dis.to_reablement[r.age[dis.to_reablement] >= 65]
        self.follow_up.add(m, fy, old_reab)
        # 9. front door
        sa, sb = practice_arrays(self.staff)
        fd = step_front_door(s.front_door, r, st["front_door"], m, need, chl, sa, sb, A, self.gindex.room,
                             self.gindex.choose)
        co = fd.paths["community"]
        took = st["front_door"].random(co.size) < s.community.referral_uptake
        r.group[co[took & (fd.referred_groups >= 0)]] = fd.referred_groups[took & (fd.referred_groups >= 0)]
        r.setting[fd.paths["home_care"]] = HOME_CARE
        self._start_reablement(fd.paths["reablement"], m)
        ended = np.flatnonzero(r.alive[: r.n] & (r.reab_until[: r.n] == m))
        fail = ended[st["care_market"].random(ended.size) > s.hospital.reablement_success]
        r.setting[fail[r.setting[fail] == HOME]] = HOME_CARE
        to_ch, _ = home_care_transitions(s.front_door, r, st["care_market"], chl)
        self._update_pressure(fd, sa, sb)
        # 10. care market
        cm = st["care_market"]
        counted = [0]
        for idx in (fd.paths["care_home"], dis.to_care_home, to_ch):
            place_in_care_homes(s.care_market, r, idx, cm, counted)
        self.care_home_invest_gbp_m += lev.care_home_fund_gbp_m
        n = r.n
        alive = r.alive[:n]
        setting = r.setting[:n]
        ch_places = max(float((alive & (setting == CARE_HOME)).sum()) * self.scale_inv, 1.0)
        squeeze = max(0.0, cut - 0.3)
        qt = quality_target(s.care_market, m, self.care_home_invest_gbp_m / (ch_places / 1000.0), lev.integration, squeeze)
        self.quality = step_quality(s.care_market, self.quality, qt)
        # 11. demography
        dead = draw_deaths(s.mortality, r, st["demography"], ex, ctx.hazard_male, ctx.hazard_female)
        if record:
            self.recorder.add_deaths(m, r.age[dead], r.sex[dead])
        remove(r, dead)
        age_one_month(s.mortality, r)
        births, migrants = newcomers(s.population, s.mortality, r, st["demography"])
        # 12. finance
        self.tally = aggregate(r, s.health, ctx.frailty_shift, len(self.groups), A, s.trust)
        agg = self.tally.totals
        k = self.scale_inv
        reab_eps = dis.to_reablement.size + fd.paths["reablement"].size
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
            self._record(m, fy, ctx.frailty_shift, agg, fd, adm, dis, dead, births, migrants, counted[0], lev, fin)
        self.m += 1

    def _start_reablement(self, idx: np.ndarray, m: int) -> None:
        r = self.residents
        r.reab_until[idx] = m + 2
        r.prot[idx] += np.float32(self.sc.health.w_reablement)

    def _staff_month(self, practice: np.ndarray) -> int:
        """Practice choice for every practitioner, then turnover and the workforce path. Returns newly trained."""
        p = self.sc.staff
        rng = self.streams["staff"]
        sa, sb = practice_arrays(self.staff)
        per_area = np.bincount(sa, minlength=self.n_areas)
        share = np.bincount(sa, weights=sb, minlength=self.n_areas) / np.maximum(per_area, 1)
        u = rng.random((len(self.staff), 3))
        was = sum(1 for x in self.staff if x.trained)
        for i, agent in enumerate(self.staff):
            a = agent.area
            agent.step_practice(p, u[i], float(practice[a]), float(share[a]), float(self.pressure[a]))
        trained = sum(1 for x in self.staff if x.trained) - was
        stay = []
        for i, agent in enumerate(self.staff):
            if u[i, 2] < turnover_rate(p, agent.morale):
                agent.remove()
            else:
                stay.append(agent)
        target = int(round(self.n_staff0 * self.finance.workforce(self.m) / self.sc.finance.workforce_baseline))
        if len(stay) > target:
            drop = set(rng.choice(len(stay), len(stay) - target, replace=False).tolist())
            for j in sorted(drop):
                stay[j].remove()
            stay = [a for j, a in enumerate(stay) if j not in drop]
        counts = np.bincount([a.area for a in stay], minlength=self.n_areas) if stay else np.zeros(self.n_areas, int)
        while len(stay) < target:
            area = int(np.argmin(counts))
            counts[area] += 1
            stay.append(Staff(self, area, p))
        self.staff = stay
        return max(trained, 0)

    def _community_month(self, fund_gbp_m: float) -> float:
        """Counts, grants, closures, foundings; returns grant money paid this month (GBP k, model scale)."""
        p = self.sc.community
        r = self.residents
        rng = self.streams["community"]
        n = r.n
        ng = len(self.groups)
        # Counts from the end of last month's tally: nothing since has changed membership or residence.
        t = self.tally
        mem, vol, pop_area, tf_sum = t.members, t.volunteers, t.pop_area, t.trust_factor_area
        active = [g for g in self.groups if g.active]
        u = rng.random(len(active))
        closed = []
        paid = 0.0
        for i, g in enumerate(active):
            g.members, g.volunteers = int(mem[g.gid]), int(vol[g.gid])
            g.step_group(p, float(u[i]), self.m)
            paid += g.paid_this_month_k
            if not g.active:
                closed.append(g.gid)
        if closed:
            release_members(r, np.asarray(closed, np.int64), ng)
        # Founding: local, faster where trust is higher.
        tf = tf_sum / np.maximum(pop_area, 1)
        for a, k in enumerate(rng.poisson(p.founding_per_100k * pop_area / 1e5 * tf)):
            for _ in range(int(k)):
                self._new_group(a)
        # Fund awards: expected number of grants from this month's money; some found new groups.
        if fund_gbp_m > 0:
            k_grants = int(rng.poisson(fund_gbp_m * 1000.0 * self.scale / p.mean_grant_gbp_k))
            free = [g for g in self.groups if g.active and g.grant_start < 0]
            for _ in range(k_grants):
                if rng.random() < p.new_group_share or not free:
                    g = self._new_group(int(rng.integers(self.n_areas)))
                else:
                    g = free.pop(int(rng.integers(len(free))))
                g.award(p.mean_grant_gbp_k, self.m)
        paid_by_area = np.zeros(self.n_areas)
        for g in self.groups:
            if g.active and g.grant_start >= 0:
                paid_by_area[g.area] += g.paid_this_month_k * 12.0
        self.invest_per_head = paid_by_area * 1000.0 / np.maximum(pop_area, 1)
        self._group_index()
        return paid

    def _update_pressure(self, fd, sa: np.ndarray, sb: np.ndarray) -> None:
        p = self.sc.staff
        cap = np.bincount(sa, weights=np.where(sb, p.conversations_per_month / p.strengths_time_cost,
                                               p.conversations_per_month), minlength=self.n_areas)
        self.pressure = np.where(cap > 0, fd.demand_by_area / np.maximum(cap, 1e-9), 2.0)

    def _record(self, m, fy, shift, agg, fd, adm, dis, dead, births, migrants, ch_adm65, lev, fin) -> None:
        r, k = self.residents, self.scale_inv
        pop, pop65, pop18 = agg["pop"], agg["pop65"], agg["pop18"]
        rec = self.recorder
        acc = rec.fy
        acc["ch_adm_65"][fy] += ch_adm65 * k
        acc["delayed_days"][fy] += dis.delayed_bed_days * k
        acc["days"][fy] += days_in_month(m)
        if month_of(m) == 7:
            # Mid-year: exposure for the life table, and the survey (frailty only for the respondents).
            y = year_of(m)
            n = r.n
            idx = np.flatnonzero(r.alive[:n])
            svy = self.streams["survey"]
            ns = self.sc.observation.survey_per_year
            pick = idx[svy.integers(0, idx.size, ns)] if self.scale < 1.0 or ns > idx.size else \
                svy.choice(idx, ns, replace=False)
            hp = self.sc.health
            f_pick = (r.age[pick] * np.float32(hp.age_slope_per_decade / 10.0)
                      + np.float32(hp.deprivation_effect) * (r.dep[pick] - np.float32(0.5)) + np.float32(shift)
                      + r.u[pick] - r.prot[pick])
            thr_pick = np.where(r.sex[pick] == 1, hp.threshold_male, hp.threshold_female)
            rec.mid_year(m, r.age[idx], r.sex[idx], r.age[pick], r.sex[pick], f_pick < thr_pick, k)
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
        sa, sb = practice_arrays(self.staff)
        active = [g for g in self.groups if g.active]
        row = {
            "month": label(m),
            "population": pop * k, "population_65_plus": pop65 * k, "births": births * k,
            "deaths": dead.size * k, "net_migrants": migrants * k,
            "good_health_share": agg["good"] / pop, "mean_frailty": agg["frailty"] / pop,
            "connectedness_mean": agg["connect"] / pop,
            "isolated_share": agg["isolated_adults"] / agg["adults"],
            "volunteer_share_adults": agg["volunteer_adults"] / agg["adults"],
            "group_members": agg["members"] * k,
            "trust_mean": agg["trust"] / pop,
            "staff_practitioners": len(self.staff) * k,
            "staff_strengths_based_share": float(sb.mean()) if sb.size else 0.0,
            "staff_trained_share": float(np.mean([a.trained for a in self.staff])) if self.staff else 0.0,
            "staff_morale": float(np.mean([a.morale for a in self.staff])) if self.staff else 0.0,
            "staff_autonomy": float(np.mean([a.autonomy for a in self.staff])) if self.staff else 0.0,
            "caseload_pressure": float(self.pressure.mean()),
            "community_groups": len(active) * k,
            "community_capacity": float(sum(g.capacity for g in active)) * k,
            "front_door_contacts": fd.contacts * k,
            "strengths_based_conversations": fd.strengths_based * k,
            **{f"path_{name}": idx.size * k for name, idx in fd.paths.items()},
            "home_care_clients": agg["home_care"] * k,
            "care_home_residents": agg["care_home"] * k,
            "care_home_admissions_65_funded": ch_adm65 * k,
            "hospital_admissions": adm.size * k,
            "hospital_discharges_onward": dis.onward * k,
            "delayed_bed_days": dis.delayed_bed_days * k,
            "delayed_beds_per_day_per_100k_18plus": dis.delayed_bed_days / days_in_month(m) / max(pop18, 1) * 1e5,
            "reablement_starts": (dis.to_reablement.size + fd.paths["reablement"].size) * k,
            "care_quality": self.quality,
            "lever_practice": float(lev.practice.mean()), "lever_citizen": float(lev.citizen.mean()),
            "lever_community": lev.community, "lever_integration": lev.integration,
            "tax_frozen": float(lev.tax_freeze),
            **fin,
        }
        rec.row(m, row)

    # ------------------------------------------------------------------ results
    def timeseries(self) -> dict[str, np.ndarray]:
        return self.recorder.table()

    def outcomes(self) -> dict[str, dict[str, float]]:
        return self.recorder.outcomes(1.0 / self.scale_inv)

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
            row["frailty"] = float(hp.age_slope_per_decade / 10 * r.age[i] + hp.deprivation_effect * (r.dep[i] - 0.5)
                                   + self._shift + r.u[i] - r.prot[i])
            row["good_health"] = row["frailty"] < (hp.threshold_male if r.sex[i] == 1 else hp.threshold_female)
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
