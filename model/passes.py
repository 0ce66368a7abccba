"""The month's passes over residents: every per-resident rule of the step order, fused into two loops.

Each mechanism writes its rule for one resident in its own module (relationship.py, social.py, health.py,
hospital.py, frontdoor.py, care_market.py, demography.py); this module only runs them in the documented
order, resident by resident, in parallel over blocks of residents (Numba `prange`). The engine is limited
by memory bandwidth, not arithmetic, so a month reads every resident's columns once:

  first   last month's inpatients (a few thousand) go through steps 3-7: closed groups release their
          members, trust, volunteering and groups, connectedness, health. The reablement offer of step 8 is a
          share of the 65+ discharged, so it needs how many of them are in need this month.
  the pass  every other resident goes through steps 3-7, then everyone through 8-11: hospital discharge,
          then admissions; the front door (contact, practitioner, path, referral); reablement ends; home-care
          moves; care-home placements; death; ageing; and the month's tally
  July    the mid-year population, the whole population's good health (census and truth), the deaths
          their hazards imply (the life tables' expected deaths) and the survey frame (mid_year)

A resident's rules read only that resident's columns and quantities fixed for the month (levers, last
month's pressure and quality, the group index, the staff's practice), so the fused order gives the same
state as running each rule over everyone in turn. Every draw is keyed to the resident (rng.u01), so the
result is the same for any number of threads; sums are taken per block of BLOCK residents and added in
block order, so they are too.
"""

from __future__ import annotations

from collections import namedtuple

import threading

import numba
import numpy as np
from numba import njit, prange

from . import care_market as cm
from . import demography as dg
from . import frontdoor as fd
from . import health as hl
from . import hospital as hs
from . import relationship as rl
from . import social as so
from .residents import CARE_HOME, HOME, HOME_CARE, HOSPITAL, NEVER, Residents
from .rng import u01

# Numba's GNU OpenMP layer kills a process that forks after a parallel region (pyabc and multiprocessing fork
# workers); its own work queue is fork-safe and enough for blocks of residents.
numba.config.THREADING_LAYER = "workqueue"

BLOCK = 4096
N_BANDS = 20  # ONS life-table bands: <1, 1-4, 5-9, ..., 85-89, 90+

Cols = namedtuple("Cols", "alive sex age area dep u gomp prot eta connect group volunteer trust setting "
                          "prev_setting funded reab_until last_contact last_sb key")

# The decisions each pass draws, in the order of the month's key array (model.py builds it).
KEYS = (("social", "volunteer"), ("social", "group"), ("social", "choice"), ("health", "shock"),
        ("hospital", "discharge_care"), ("hospital", "discharge_home"), ("hospital", "admit"),
          ("front_door", "contact"), ("front_door", "practitioner"), ("front_door", "path"),
          ("front_door", "group"), ("front_door", "uptake"), ("care_market", "reablement_end"),
          ("care_market", "home_care"), ("care_market", "funded"), ("demography", "death"))

# Decisions that are a property of the person, drawn once for life: whether the council funds a care-home place
# is a means test, so the same resident is funded (or not) whenever and by whichever route they are placed.
PERSONAL = {("care_market", "funded")}

# Counters of the pass (columns of its `counts`)
(C_ONWARD, C_ADMISSIONS, C_CONTACTS, C_STRENGTHS, C_PATH0, C_PATH1, C_PATH2, C_PATH3, C_PATH4,
 C_REABLEMENT, C_DISCHARGE_REABLEMENT, C_CH_ADM_65_FUNDED, C_CARE_HOME, C_DEATHS, C_FOLLOW_UP,
 C_INPATIENTS) = range(16)
N_COUNTS = 15  # counted in the loop; C_INPATIENTS (the block's admissions still alive) is written after it

# The month's tally (sums over the living at the end of the month)
AGG = ("pop", "pop65", "pop18", "adults", "good", "frailty", "connect", "isolated_adults", "volunteer_adults",
       "members", "trust", "home_care", "care_home", "care_home_funded")
TallyK = namedtuple("TallyK", "slope dep_eff shift thr_f thr_m iso inv_base elasticity")


GroupArrays = namedtuple("GroupArrays", "start total cum gid")


def cols(r: Residents) -> Cols:
    return Cols(*(getattr(r, f) for f in Cols._fields))


def n_blocks(n: int) -> int:
    return (n + BLOCK - 1) // BLOCK


@njit(cache=True, inline="always")
def band(a):
    """ONS life-table band of an age in years."""
    if a < 1.0:
        return 0
    if a < 5.0:
        return 1
    return min(int(a / 5.0) + 1, N_BANDS - 1)


@njit(cache=True, inline="always")
def tally_terms(k, age, dep, u, prot, male, connect, volunteer, group, trust, setting, funded):
    """One resident's contribution to each AGG sum."""
    f = age * k.slope + k.dep_eff * (dep - 0.5) + k.shift + u - prot
    adult = age >= 16.0
    ch = setting == CARE_HOME
    one = 1.0
    return (one, one * (age >= 65.0), one * (age >= 18.0), one * adult, one * (f < (k.thr_m if male else k.thr_f)),
            one * f, one * connect, one * (adult and connect < k.iso), one * (adult and volunteer), one * (group >= 0),
            one * trust, one * (setting == HOME_CARE), one * ch, one * (ch and funded))


@njit(cache=True, inline="always")
def tally_scatter(k, pa, tfa, mem, vol, b, sign, area, trust, group, volunteer):
    """Per-area and per-group counts (the tally's scattered part)."""
    pa[b, area] += sign
    tfa[b, area] += sign * so.trust_factor(k, trust)
    if group >= 0:
        mem[b, group] += sign
        vol[b, group] += sign * volunteer


@njit(cache=True)
def _tally_into(idx, b, sign, c, tk, acc, pa, tfa, mem, vol):
    t = np.zeros(len(AGG))
    for i in idx:
        terms = tally_terms(tk, c.age[i], c.dep[i], c.u[i], c.prot[i], c.sex[i] == 1, c.connect[i], c.volunteer[i],
                            c.group[i], c.trust[i], c.setting[i], c.funded[i])
        for j in range(len(AGG)):
            t[j] += terms[j]
        tally_scatter(tk, pa, tfa, mem, vol, b, sign, c.area[i], c.trust[i], c.group[i], c.volunteer[i])
    for j in range(len(AGG)):
        acc[b, j] += sign * t[j]


@njit(cache=True, inline="always")
def _rules_a(i, rid, m, age, area, dep, u, prot, eta, connect, group, volunteer, trust, setting, last_sb, keys, tk,
             trust_by_area, sk, citizen, room, gone, gi, hk):
    """Steps 3, 5 (members of closed groups), 6 and 7 for one resident (keys: the month's KEYS; gi: GroupArrays)."""
    a = area[i]
    g = group[i]
    if g >= 0 and gone[g]:  # community: the group closed this month
        g = -1
    tr = rl.resident_month(tk, trust[i], trust_by_area[a], m, last_sb[i])
    trust[i] = tr
    st = setting[i]
    vo, began, g, wants = so.resident_month(sk, st != CARE_HOME, age[i], dep[i], tr, eta[i], citizen[a], room[a],
                                            volunteer[i], g, connect[i], u01(keys[0], rid), u01(keys[1], rid))
    if wants:
        g = so.pick(gi.start, gi.total, gi.cum, gi.gid, a, u01(keys[2], rid))
    volunteer[i] = vo
    group[i] = g
    cn = so.connectedness(sk, connect[i], eta[i], dep[i], g >= 0, vo)
    connect[i] = cn
    uu, pp = hl.resident_month(hk, u[i], prot[i], cn, vo, g >= 0, st == HOME_CARE, tr, citizen[a],
                               u01(keys[3], rid))
    u[i] = uu
    prot[i] = pp


@njit(cache=True)
def inpatients_first(idx, n0, m, c, keys, tk, trust_by_area, sk, citizen, room, gone, gi, hk):
    """Steps 3-7 for last month's inpatients, before the pass: the reablement offer (step 8) depends on how many
    of them are in need this month. Returns (inpatients aged 65+, of whom in need)."""
    alive, sex, age, area, dep, u, prot, eta = c.alive, c.sex, c.age, c.area, c.dep, c.u, c.prot, c.eta
    connect, group, volunteer, trust, setting, last_sb, key = (c.connect, c.group, c.volunteer, c.trust, c.setting,
                                                               c.last_sb, c.key)
    old = 0
    needy = 0
    for i in idx:
        rid = i if i < n0 else key[i]
        _rules_a(i, rid, m, age, area, dep, u, prot, eta, connect, group, volunteer, trust, setting, last_sb, keys,
                 tk, trust_by_area, sk, citizen, room, gone, gi, hk)
        if age[i] >= 65.0:
            old += 1
            ex, gap, nd, ch = hl.levels(hk, u[i], prot[i], age[i], dep[i], sex[i] == 1)
            needy += nd
    return old, needy


def _month_pass(n, n0, c, m, keys, tk, trust_by_area, sk, citizen, room, gone, gi, hk, hospk, fk, staff_sb, staff_offset, staff_count, uptake, reab_months, w_reab, ck, dk, tallyk,
               counts, deaths, demand, follow_up, admitted, acc, pa, tfa, mem, vol):
    """Steps 3 and 5-11 and the tally for every resident, in blocks run in parallel."""
    alive, sex, age, area, dep, u, gomp, prot, eta = c.alive, c.sex, c.age, c.area, c.dep, c.u, c.gomp, c.prot, c.eta
    connect, group, volunteer, trust, setting, prev_setting = (c.connect, c.group, c.volunteer, c.trust,
                                                               c.setting, c.prev_setting)
    funded, reab_until, last_contact, last_sb, key = c.funded, c.reab_until, c.last_contact, c.last_sb, c.key
    n_staff = staff_sb.size
    gi_start, gi_total, gi_cum, gi_gid = gi.start, gi.total, gi.cum, gi.gid  # noqa: F841 (bound before prange)
    for b in prange((n + BLOCK - 1) // BLOCK):
        cnt = np.zeros(N_COUNTS, np.int64)
        n_adm = 0
        t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = t8 = t9 = t10 = t11 = t12 = t13 = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            if not alive[i]:
                continue
            rid = i if i < n0 else key[i]
            s = setting[i]
            if s != HOSPITAL:  # last month's inpatients had steps 3-7 before the pass
                _rules_a(i, rid, m, age, area, dep, u, prot, eta, connect, group, volunteer, trust, setting, last_sb,
                         keys, tk, trust_by_area, sk, citizen, room, gone, gi, hk)
            a = area[i]
            ag = age[i]
            male = sex[i] == 1
            ex, gap, nd, ch = hl.levels(hk, u[i], prot[i], ag, dep[i], male)
            placed = False
            # 8. hospital: last month's inpatients leave, then this month's emergency admissions
            if s == HOSPITAL:
                d = hs.discharge(hospk, prev_setting[i], nd, ch, ag, u01(keys[4], rid), u01(keys[5], rid))
                if d == hs.D_BACK:
                    s = CARE_HOME
                elif d == hs.D_CARE_HOME:
                    placed = True
                    cnt[C_ONWARD] += 1
                elif d == hs.D_REABLEMENT:
                    s = HOME
                    reab_until[i] = m + reab_months
                    prot[i] += w_reab
                    cnt[C_ONWARD] += 1
                    cnt[C_REABLEMENT] += 1
                    cnt[C_DISCHARGE_REABLEMENT] += 1
                    if ag >= 65.0:
                        follow_up[b * BLOCK + cnt[C_FOLLOW_UP]] = i
                        cnt[C_FOLLOW_UP] += 1
                elif d == hs.D_HOME_CARE:
                    s = HOME_CARE
                    cnt[C_ONWARD] += 1
                else:
                    s = HOME_CARE if prev_setting[i] == HOME_CARE else HOME
            if not placed and hs.admit(hospk, s, ag, gap, nd, group[i] >= 0, u01(keys[6], rid)):
                prev_setting[i] = s
                s = HOSPITAL
                cnt[C_ADMISSIONS] += 1
            # 9. front door
            if fd.eligible(fk, s, ag, nd, m, last_contact[i], reab_until[i]) and u01(keys[7], rid) < fk.rate:
                cnt[C_CONTACTS] += 1
                demand[b, a] += 1
                if n_staff > 0:
                    sb = staff_sb[fd.practitioner(staff_offset, staff_count, n_staff, a, u01(keys[8], rid))]
                    path = fd.resident_path(fk, sb, ch, room[a], u01(keys[9], rid))
                    last_contact[i] = m
                    if sb:
                        last_sb[i] = m
                        cnt[C_STRENGTHS] += 1
                    cnt[C_PATH0 + path] += 1
                    if path == fd.P_CARE_HOME:
                        placed = True
                    elif path == fd.P_HOME_CARE:
                        s = HOME_CARE
                    elif path == fd.P_REABLEMENT:
                        reab_until[i] = m + reab_months
                        prot[i] += w_reab
                        cnt[C_REABLEMENT] += 1
                    elif path == fd.P_COMMUNITY:
                        gq = so.pick(gi.start, gi.total, gi.cum, gi.gid, a, u01(keys[10], rid))
                        if gq >= 0 and u01(keys[11], rid) < uptake:
                            group[i] = gq
            if reab_until[i] == m:
                s = cm.reablement_end(ck, s, u01(keys[12], rid))
            if s == HOME_CARE:
                to_care_home, leaves = cm.home_care_move(ck, ch, u01(keys[13], rid))
                if to_care_home:
                    placed = True
                elif leaves:
                    s = HOME
            # 10. care market: placements from every route
            if placed:
                s = CARE_HOME
                f = u01(keys[14], rid) < ck.funded_share
                funded[i] = f
                reab_until[i] = NEVER
                if f and ag >= 65.0:
                    cnt[C_CH_ADM_65_FUNDED] += 1
            if s == CARE_HOME:
                cnt[C_CARE_HOME] += 1
            setting[i] = s
            # 11. demography: death, then ageing
            if dg.death(dk, ag, male, gomp[i], ex, s, u01(keys[15], rid)):
                alive[i] = False
                group[i] = -1
                volunteer[i] = False
                setting[i] = HOME
                reab_until[i] = NEVER
                deaths[b, sex[i], band(ag)] += 1
                cnt[C_DEATHS] += 1
                continue
            if s == HOSPITAL:
                admitted[b * BLOCK + n_adm] = i
                n_adm += 1
            ag = ag + np.float32(1.0 / 12.0)
            age[i] = ag
            gomp[i] *= dk.ageing
            # 12. the tally (newcomers are added after the pass); sums kept in registers
            g, vo, tr = group[i], volunteer[i], trust[i]
            x = tally_terms(tallyk, ag, dep[i], u[i], prot[i], male, connect[i], vo, g, tr, s, funded[i])
            t0 += x[0]
            t1 += x[1]
            t2 += x[2]
            t3 += x[3]
            t4 += x[4]
            t5 += x[5]
            t6 += x[6]
            t7 += x[7]
            t8 += x[8]
            t9 += x[9]
            t10 += x[10]
            t11 += x[11]
            t12 += x[12]
            t13 += x[13]
            tally_scatter(tallyk, pa, tfa, mem, vol, b, 1, a, tr, g, vo)
        for j in range(N_COUNTS):
            counts[b, j] = cnt[j]
        acc[b, 0], acc[b, 1], acc[b, 2], acc[b, 3], acc[b, 4], acc[b, 5], acc[b, 6] = t0, t1, t2, t3, t4, t5, t6
        acc[b, 7], acc[b, 8], acc[b, 9], acc[b, 10], acc[b, 11], acc[b, 12], acc[b, 13] = t7, t8, t9, t10, t11, t12, t13
        counts[b, C_INPATIENTS] = n_adm


def tally_some(idx: np.ndarray, sign: int, c: Cols, tk: TallyK, acc, pa, tfa, mem, vol) -> None:
    """Add (sign 1) or take away (-1) residents' contributions to the tally (newcomers, emigrants)."""
    _tally_into(np.asarray(idx, np.int64), 0, sign, c, tk, acc, pa, tfa, mem, vol)


@njit(cache=True)
def tally_all(n, c, tk, acc, pa, tfa, mem, vol):
    """The tally of everyone alive (at the start, before the first month), as one block per BLOCK residents."""
    for b in range((n + BLOCK - 1) // BLOCK):
        idx = np.arange(b * BLOCK, min(n, (b + 1) * BLOCK))
        _tally_into(idx[c.alive[idx]], b, 1, c, tk, acc, pa, tfa, mem, vol)


def _mid_year(n, c, tk, dk, survey_min_age, exposure, good, expected, frame):
    """July: the living by sex and band, those in good health, the deaths their own hazards imply over a year
    (twelve times this month's death probability: the central death rate the life table wants, without the
    chance of who dies), and the survey frame (residents of private households, home or home with care, aged
    survey_min_age and over)."""
    alive, sex, age, dep, u, prot, setting, gomp = c.alive, c.sex, c.age, c.dep, c.u, c.prot, c.setting, c.gomp
    for b in prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            if not alive[i]:
                frame[i] = False
                continue
            a = age[i]
            s = sex[i]
            bd = band(a)
            exposure[b, s, bd] += 1
            good[b, s, bd] += hl.good(tk, a, dep[i], u[i], prot[i], s == 1)
            ex = hl.excess(tk, u[i], prot[i], dep[i])
            expected[b, s, bd] += 12.0 * dg.death_probability(dk, a, s == 1, gomp[i], ex, setting[i])
            frame[i] = a >= survey_min_age and (setting[i] == HOME or setting[i] == HOME_CARE)


# Numba's work queue may not be entered by two threads at once (the web app steps models from its own threads), so
# every launch of a parallel kernel holds this lock. A "serial" compilation of the same loop (plain njit, no prange)
# was tried for one thread: it ran 4.4 times slower (71 ms against 16 ms a month at full scale, one core), the cause
# was not pinned down (reference counting on the arrays the inlined rules alias is the likely one).
LAUNCH = threading.Lock()

_month_pass_k = njit(cache=True, parallel=True)(_month_pass)
_mid_year_k = njit(cache=True, parallel=True)(_mid_year)


def month_pass(*args) -> None:
    """The month's pass (see _month_pass), on the calling thread's Numba thread count."""
    with LAUNCH:
        _month_pass_k(*args)


def mid_year(*args) -> None:
    """July's census and survey frame (see _mid_year)."""
    with LAUNCH:
        _mid_year_k(*args)
