"""The front door: residents with rising need talk to a practitioner, and the conversation decides a path.

Eligible: alive adults (18+; children's services are outside the model), living at home without a package,
need above the need margin, not seen in the last `recontact_months`, not in reablement. Each month an
eligible resident makes contact with probability `contact_rate`; the conversation is with a practitioner of
their service area chosen at random (any practitioner if the area has none). What follows depends on that
practitioner's practice and on spare community capacity nearby:
  care home (only at care-home level need) > long-term home care > reablement > community connection >
  information and advice,
taken in that order from one uniform draw, with probabilities from FrontDoorParams. Strengths-based
practice cuts packages and placements and connects people to groups when there is room; a community
referral is taken up with probability `community.referral_uptake`. `resident_path` is the rule for one
resident; passes.py runs it inside the month's pass over residents, after
the hospital.
"""

from __future__ import annotations

from collections import namedtuple

from numba import njit

from .parameters import FrontDoorParams
from .residents import HOME

ADULT = 18.0
PATHS = ("care_home", "home_care", "reablement", "community", "advice")
P_CARE_HOME, P_HOME_CARE, P_REABLEMENT, P_COMMUNITY, P_ADVICE = range(5)

FrontDoorK = namedtuple("FrontDoorK", "recontact rate t_ch s_ch_red t_hc s_hc_red t_re s_re t_co s_co")


def constants(p: FrontDoorParams) -> FrontDoorK:
    return FrontDoorK(p.recontact_months, p.contact_rate, p.traditional_care_home, p.strengths_care_home_reduction,
                      p.traditional_home_care, p.strengths_home_care_reduction, p.traditional_reablement,
                      p.strengths_reablement, p.traditional_community, p.strengths_community)


@njit(cache=True, inline="always")
def eligible(k, setting, age, need, m, last_contact, reab_until):
    return setting == HOME and age >= ADULT and need and (m - last_contact) >= k.recontact and reab_until < m


@njit(cache=True, inline="always")
def practitioner(staff_offset, staff_count, n_staff, area, w):
    """Position (in the staff ordered by area, then key) of the practitioner a uniform w picks."""
    c = staff_count[area]
    if c > 0:
        return staff_offset[area] + min(int(w * c), c - 1)
    return min(int(w * n_staff), n_staff - 1)


@njit(cache=True, inline="always")
def resident_path(k, strengths_based, ch_level, room, x):
    """The path (a P_ code) a conversation ends in, from one uniform x."""
    p_ch = (k.t_ch * ((1.0 - k.s_ch_red) if strengths_based else 1.0)) if ch_level else 0.0
    p_hc = k.t_hc * ((1.0 - k.s_hc_red) if strengths_based else 1.0)
    p_re = k.s_re if strengths_based else k.t_re
    p_co = k.s_co * room if strengths_based else k.t_co
    c1 = p_ch
    c2 = c1 + p_hc * (1 - c1)
    c3 = c2 + p_re * (1 - c2)
    c4 = c3 + p_co * (1 - c3)
    if x < c1:
        return P_CARE_HOME
    if x < c2:
        return P_HOME_CARE
    if x < c3:
        return P_REABLEMENT
    if x < c4:
        return P_COMMUNITY
    return P_ADVICE
