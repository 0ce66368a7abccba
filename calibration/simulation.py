"""One simulation for calibration and validation: a scenario with overrides, a seed, a scale -> outcomes.

Kept free of pyabc so that worker processes (validation) start quickly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["seed_for", "run_model"]


def seed_for(params: Mapping[str, float], salt: str | int = "") -> int:
    """A seed (0 .. 2^63-1) determined by the parameter values (and an optional salt): SHA-256 of
    ``repr(sorted((key, float(value))))``, so a particle's run can be repeated exactly."""
    text = repr(sorted((str(k), float(v)) for k, v in params.items()))
    if salt != "":
        text += f"|{salt}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def run_model(loaded: Any, overrides: Mapping[str, Any], seed: int, scale: float,
              timeseries: bool = False) -> tuple[dict | None, str | None]:
    """Run the scenario with ``overrides`` (dotted keys). Returns (outcomes, None), or (None, reason) when the
    scenario refuses the values or the run cannot report its published measures.

    With ``timeseries`` the outcomes dict also holds ``"__timeseries__"``: the monthly table as lists.
    """
    from model.scenario import ScenarioError
    from runs.single import run_one

    try:
        r = run_one(loaded, seed, scale, overrides=overrides, source="calibration")
        out = r.outcomes
    except ScenarioError as exc:
        return None, f"parameters refused: {exc}"
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if timeseries:
        out = dict(out)
        out["__timeseries__"] = {k: np.asarray(v).tolist() for k, v in r.timeseries.items()}
    return out, None
