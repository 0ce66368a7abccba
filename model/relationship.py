"""The citizen-state relationship: trust in the council follows what residents see it do.

Visible reciprocity (a council-tax freeze, investment in their area, a strengths-based conversation with
them) raises trust; visible cuts to services lower it. Trust then raises volunteering, joining groups and
self-help (social.py, health.py). Deterministic: no random stream.
"""

from __future__ import annotations

import numpy as np

from .parameters import TrustParams
from .residents import Residents


def trust_target(p: TrustParams, r: Residents, m: int, tax_freeze: bool,
                 invest_per_head_by_area: np.ndarray, cut_share: float) -> np.ndarray:
    n = r.n
    t = np.full(n, p.base + (p.w_tax if tax_freeze else 0.0) - p.w_cuts * min(1.0, max(cut_share, 0.0) / 0.5),
                np.float32)
    if invest_per_head_by_area.any():
        t += (np.float32(p.w_investment) * np.minimum(invest_per_head_by_area / 10.0, 1.0).astype(np.float32))[r.area[:n]]
    t += np.float32(p.w_conversation) * ((m - r.last_sb[:n]) < 12)
    return t


def step_trust(p: TrustParams, r: Residents, target: np.ndarray) -> None:
    tr = r.trust[:n] if (n := r.n) else r.trust[:0]
    tr += (target - tr) * np.float32(1.0 / p.months)
    np.clip(tr, 0.0, 1.0, out=tr)
