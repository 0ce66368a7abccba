"""The citizen-state relationship: trust in the council follows what residents see it do.

Visible reciprocity (a council-tax freeze, investment in their area, a strengths-based conversation with
them) raises trust; visible cuts to services lower it. Trust then raises volunteering, joining groups and
self-help (social.py, health.py). Deterministic: no random draws. Trust reads last month's finance (the
share of other services cut) and last month's community investment per head, because this month's are
only known at the end of the month.

Trust relaxes over `months` towards
    base + w_tax [tax frozen] + w_investment min(1, investment per head in the area / investment_saturation_gbp)
    + w_conversation [strengths-based conversation in the last conversation_memory_months]
    - w_cuts min(1, cut share / cuts_saturation).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .parameters import TrustParams

TrustK = namedtuple("TrustK", "common w_conv memory inv_tau")


def constants(p: TrustParams, tax_freeze: bool, invest_per_head_by_area: np.ndarray,
              cut_share: float) -> tuple[TrustK, np.ndarray]:
    """The month's common target and the per-area investment term."""
    common = p.base + (p.w_tax if tax_freeze else 0.0) - p.w_cuts * min(1.0, max(cut_share, 0.0) / p.cuts_saturation)
    by_area = p.w_investment * np.minimum(np.asarray(invest_per_head_by_area, float) / p.investment_saturation_gbp, 1.0)
    return TrustK(common, p.w_conversation, p.conversation_memory_months, 1.0 / p.months), by_area


@njit(cache=True, inline="always")
def resident_month(k, trust, by_area, m, last_sb):
    t = k.common + by_area + k.w_conv * ((m - last_sb) < k.memory)
    return min(max(trust + (t - trust) * k.inv_tau, 0.0), 1.0)
