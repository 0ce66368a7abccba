"""Context and confounders: England's trends and Greater Manchester devolution, the same in both arms."""

from __future__ import annotations

from dataclasses import dataclass

from .parameters import ContextParams, month_index


@dataclass
class ContextState:
    frailty_shift: float = 0.0      # added to everyone's frailty (SD)
    hazard_male: float = 1.0        # mortality multiplier
    hazard_female: float = 1.0


def context_at(p: ContextParams, m: int, start: int) -> ContextState:
    """National trend (linear in years since the start) and devolution (ramped in from its start)."""
    years = (m - start) / 12.0
    trend = (1.0 + p.national_mortality_trend) ** years
    dev = 0.0
    if p.greater_manchester:
        since = m - month_index(p.devolution_start)
        dev = min(1.0, max(0.0, (since + 1) / p.devolution_ramp_months)) if since >= 0 else 0.0
    return ContextState(
        frailty_shift=p.national_frailty_trend * years - p.devolution_frailty * dev,
        hazard_male=trend * (1.0 - p.devolution_mortality_male * dev),
        hazard_female=trend * (1.0 - p.devolution_mortality_female * dev),
    )
