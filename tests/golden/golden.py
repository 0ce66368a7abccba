"""Golden outcomes: the published measures of two scenarios at two seeds, stored, so any change to a number shows.

`tests/test_golden.py` compares a fresh run with the stored file; `python tests/golden/refresh.py` reruns, prints
every value that moved beyond its tolerance and rewrites the file. A model change that moves a number is then
a reviewed change of this file, with its diff in the commit.

Tolerances are per unit (TOLERANCE): runs are byte-identical on the same software, so the tolerances only
absorb floating-point differences between machines or library versions, where one resident's borderline draw
may fall the other way. They are far below any modelling change worth the name: a 10% change in the age slope
of frailty moves HLE by about 3 years.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FILE = HERE / "outcomes.json"
SCENARIOS = ("wigan.yaml", "wigan_no_deal.yaml")
SEEDS = (0, 1)
SCALE = 0.05

# (absolute, relative) tolerance by unit of the outcome registry; a value passes if within either.
TOLERANCE = {"years": (0.05, 0.0), "per 100,000 aged 65+ a year": (0.0, 0.01),
             "beds a day per 100,000 aged 18+": (0.0, 0.01), "%": (0.2, 0.0), "share": (0.005, 0.0),
             "GBP m a year": (0.0, 0.001), "headcount": (0.0, 0.005)}


def compute() -> dict[str, Any]:
    """Run every (scenario, seed) and return the outcomes in the stored form."""
    from model.outcomes import REGISTRY
    from runs.single import run_one
    from model.scenario import load_scenario

    out: dict[str, Any] = {"scale": SCALE, "seeds": list(SEEDS), "runs": {}}
    for name in SCENARIOS:
        loaded = load_scenario(ROOT / "scenarios" / name)
        for seed in SEEDS:
            res = run_one(loaded, seed, SCALE)
            oc = res.outcomes
            assert set(oc) <= set(REGISTRY), set(oc) - set(REGISTRY)
            out["runs"][f"{name}/{seed}"] = oc
    return out


def differences(stored: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """Every value that moved beyond its tolerance, appeared or disappeared, as readable lines."""
    from model.outcomes import REGISTRY

    lines = []
    for run in sorted(set(stored["runs"]) | set(fresh["runs"])):
        a, b = stored["runs"].get(run, {}), fresh["runs"].get(run, {})
        for name in sorted(set(a) | set(b)):
            pa, pb = a.get(name, {}), b.get(name, {})
            absolute, relative = TOLERANCE[REGISTRY[name].unit]
            for period in sorted(set(pa) | set(pb)):
                x, y = pa.get(period), pb.get(period)
                if x is None or y is None:
                    if (x is None) != (y is None):
                        lines.append(f"{run} {name} {period}: {x} -> {y}")
                    continue
                if not math.isclose(x, y, rel_tol=relative, abs_tol=absolute):
                    lines.append(f"{run} {name} {period}: {x} -> {y} ({y - x:+.4g})")
    return lines


def load() -> dict[str, Any]:
    return json.loads(FILE.read_text())
