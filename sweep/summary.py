"""Summary of a sweep folder: counts, failures, and each output's quantiles by parameter level; CSV export.

A parameter swept over levels (a grid) is summarised level by level; a sampled parameter (lhs, sobol,
morris) by quartile bins of its values. Quantiles are the median, 5% and 95% over the successful runs
with a value (an output missing from a run is left out and counted in ``n``).
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any

import numpy as np

from .storage import SweepStore

__all__ = ["summarise", "write_runs_csv", "write_levels_csv", "LEVEL_COLUMNS"]

LEVEL_COLUMNS = ["parameter", "level", "output", "n", "median", "q05", "q95"]


def _last_line(tb: str | None) -> str:
    lines = [ln for ln in (tb or "").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def _bins(values: list[float], k: int = 4) -> list[tuple[float, float]]:
    edges = np.quantile(np.asarray(values, dtype=float), np.linspace(0, 1, k + 1))
    return [(float(edges[i]), float(edges[i + 1])) for i in range(k)]


def _g(x: float) -> str:
    return format(x, ".4g")


def summarise(store: SweepStore) -> dict[str, Any]:
    """Counts, failures and quantiles by parameter level for the sweep in ``store``."""
    from runs.outputs import quantiles

    m = store.manifest()
    d = m["definition"]
    rows = store.read().to_pylist()
    params = d["parameters"]
    outputs = d["outputs"]
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    total = int(m["runs"])
    counts = {"runs": total, "stored": len(rows), "ok": len(ok), "failed": len(failed),
              "remaining": max(0, total - len(rows)),
              "missing_values": {c: sum(1 for r in ok if r[c] is None) for c in outputs}}
    failures = [{"run_id": r["run_id"], **{p["key"]: r[p["key"]] for p in params}, "replicate": r["replicate"],
                 "attempts": r["attempts"], "error": _last_line(r["error"])} for r in failed]

    levels: list[dict[str, Any]] = []
    for p in params:
        key = p["key"]
        if "levels" in p:
            groups = [(str(lv), [r for r in ok if r[key] == lv]) for lv in p["levels"]]
        else:
            vals = [r[key] for r in ok]
            if not vals:
                continue
            bins = _bins(vals)
            groups = []
            for i, (lo, hi) in enumerate(bins):
                last = i == len(bins) - 1
                sel = [r for r in ok if lo <= r[key] < hi or (last and r[key] == hi)]
                groups.append((f"[{_g(lo)}, {_g(hi)}{']' if last else ')'}", sel))
        for label, sel in groups:
            for c in outputs:
                q = quantiles([r[c] for r in sel if r[c] is not None])
                levels.append({"parameter": key, "level": label, "output": c, **q})
    return {"name": d["name"], "method": d["design"]["method"], "scale": d["scale"], "replicates": d["replicates"],
            "parameters": [p["key"] for p in params], "outputs": outputs, "counts": counts,
            "failures": failures, "by_level": levels}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def write_runs_csv(store: SweepStore, path: str | os.PathLike[str]) -> int:
    """Every stored run, one row each (sorted by run id): parameters, seed, status, outputs, error."""
    table = store.read()
    cols = table.column_names
    data = table.to_pydict()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for i in range(table.num_rows):
            w.writerow([_cell(data[c][i]) for c in cols])
    return table.num_rows


def write_levels_csv(summary: dict[str, Any], path: str | os.PathLike[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(LEVEL_COLUMNS)
        for row in summary["by_level"]:
            w.writerow([_cell(row[c]) for c in LEVEL_COLUMNS])
