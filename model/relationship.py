"""The citizen-state relationship: trust in the council follows what residents see it do.

Visible reciprocity (a council-tax freeze, investment in their area, a strengths-based conversation with
them) raises trust; visible cuts to services lower it. Trust then raises volunteering, joining groups and
self-help (social.py, health.py). Deterministic: no random stream.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .parameters import TrustParams
from .residents import Residents


@njit(cache=True)
def _trust(n, trust, area, last_sb, m, common, by_area, w_conv, inv_tau):
    for i in range(n):
        t = common + by_area[area[i]] + w_conv * ((m - last_sb[i]) < 12)
        v = trust[i] + (t - trust[i]) * inv_tau
        trust[i] = min(max(v, 0.0), 1.0)


def step_trust(p: TrustParams, r: Residents, m: int, tax_freeze: bool, invest_per_head_by_area: np.ndarray,
               cut_share: float) -> None:
    """Trust relaxes over `months` towards
    base + w_tax [tax frozen] + w_investment min(1, investment per head in the area / GBP 10)
    + w_conversation [strengths-based conversation in the last 12 months] - w_cuts min(1, cut share / 0.5)."""
    common = p.base + (p.w_tax if tax_freeze else 0.0) - p.w_cuts * min(1.0, max(cut_share, 0.0) / 0.5)
    by_area = (p.w_investment * np.minimum(np.asarray(invest_per_head_by_area, float) / 10.0, 1.0)).astype(np.float32)
    _trust(r.n, r.trust, r.area, r.last_sb, m, common, by_area, p.w_conversation, 1.0 / p.months)
