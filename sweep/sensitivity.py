"""Global sensitivity analysis of a finished sweep with SALib: Sobol indices or Morris elementary effects.

The design is read back from the sweep folder (``design.parquet``), so the rows are exactly those that
were run, in SALib's order. With several replicates a design row's value is the mean over its
replicates (model noise is averaged, not analysed). Sobol analysis needs a value for every row: an output
with a row missing (a failed run, a run not yet done, an outcome the model could not measure) is skipped
and the reason given.

* sobol: first-order (S1) and total (ST) indices with their confidence intervals (bootstrap, SALib);
  second-order indices too when the design has them.
* morris: mu* (mean absolute elementary effect) with its confidence interval, mu and sigma.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .design import run_id
from .storage import StoreError, SweepStore

__all__ = ["analyse", "rows", "plot", "SENSITIVITY_METHODS"]

SENSITIVITY_METHODS = ("sobol", "morris")


def _f(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def analyse(store: SweepStore, outputs: list[str] | None = None, num_resamples: int = 1000,
            conf_level: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Indices for every chosen output (default: all the sweep's outputs)."""
    m = store.manifest()
    d = m["definition"]
    method = d["design"]["method"]
    if method not in SENSITIVITY_METHODS:
        raise StoreError(f"{store.shown}: a {method} design cannot be analysed for sensitivity; "
                         f"run a sweep with 'design: {{method: sobol}}' or morris")
    keys = [p["key"] for p in d["parameters"]]
    problem = {"num_vars": len(keys), "names": keys, "bounds": [p["range"] for p in d["parameters"]]}
    pts = store.read_design()
    if pts is None:
        raise StoreError(f"{store.shown}: no design.parquet (the sweep has not started)")
    x = np.array([[float(pt[k]) for k in keys] for pt in pts], dtype=float)
    chosen = outputs or list(d["outputs"])
    bad = [c for c in chosen if c not in d["outputs"]]
    if bad:
        raise StoreError(f"--output {bad[0]!r} is not an output of this sweep (outputs: {', '.join(d['outputs'])})")

    table = store.read()
    data = table.to_pydict()
    by_id = {rid: i for i, rid in enumerate(data["run_id"]) if data["status"][i] == "ok"}
    reps = int(d["replicates"])
    ids = [[run_id(pt, r) for r in range(reps)] for pt in pts]

    results: dict[str, Any] = {}
    for c in chosen:
        col = data[c]
        y = np.full(len(pts), np.nan)
        for i, rids in enumerate(ids):
            vals = [col[by_id[r]] for r in rids if r in by_id and col[by_id[r]] is not None]
            if vals:
                y[i] = float(np.mean(vals))
        missing = int(np.isnan(y).sum())
        if missing:
            results[c] = {"skipped": f"{missing} of {len(y)} design rows have no value (failed, not yet run, "
                                     "or not measurable at this scale)"}
            continue
        if np.ptp(y) == 0:
            results[c] = {"skipped": "the output is the same in every run"}
            continue
        if method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=bool(d["design"]["second_order"]),
                                num_resamples=num_resamples, conf_level=conf_level, seed=seed)
            per = {k: {"S1": _f(res["S1"][j]), "S1_conf": _f(res["S1_conf"][j]),
                       "ST": _f(res["ST"][j]), "ST_conf": _f(res["ST_conf"][j])} for j, k in enumerate(keys)}
            out: dict[str, Any] = {"indices": per}
            if d["design"]["second_order"]:
                out["S2"] = {f"{keys[a]} x {keys[b]}": {"S2": _f(res["S2"][a, b]), "S2_conf": _f(res["S2_conf"][a, b])}
                             for a in range(len(keys)) for b in range(a + 1, len(keys))}
        else:
            from SALib.analyze import morris

            res = morris.analyze(problem, x, y, num_resamples=num_resamples, conf_level=conf_level,
                                 num_levels=int(d["design"]["levels"]), seed=seed)
            per = {k: {"mu_star": _f(res["mu_star"][j]), "mu_star_conf": _f(res["mu_star_conf"][j]),
                       "mu": _f(res["mu"][j]), "sigma": _f(res["sigma"][j])} for j, k in enumerate(keys)}
            out = {"indices": per}
        out["mean"] = float(np.mean(y))
        out["sd"] = float(np.std(y))
        results[c] = out
    return {"method": method, "parameters": keys, "rows": len(pts), "replicates": reps,
            "conf_level": conf_level, "num_resamples": num_resamples, "outputs": results}


COLUMNS = {"sobol": ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"],
           "morris": ["output", "parameter", "mu_star", "mu_star_conf", "mu", "sigma"]}


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per output and parameter (analysed outputs only)."""
    out = []
    for c, r in result["outputs"].items():
        if "indices" not in r:
            continue
        for k, v in r["indices"].items():
            out.append({"output": c, "parameter": k, **v})
    return out


def plot(result: dict[str, Any], path: str | os.PathLike[str], title: str) -> bool:
    """Sobol: S1 and ST bars with confidence intervals; Morris: mu* against sigma. One panel per output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [(c, r) for c, r in result["outputs"].items() if "indices" in r]
    if not done:
        return False
    n = len(done)
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.8 * nrows), squeeze=False)
    keys = result["parameters"]
    for ax, (c, r) in zip(axes.flat, done):
        ix = r["indices"]
        if result["method"] == "sobol":
            pos = np.arange(len(keys))
            for off, (name, conf, colour) in zip((-0.2, 0.2), (("S1", "S1_conf", "tab:blue"), ("ST", "ST_conf", "tab:orange"))):
                vals = [ix[k][name] if ix[k][name] is not None else np.nan for k in keys]
                err = [ix[k][conf] if ix[k][conf] is not None else 0.0 for k in keys]
                ax.bar(pos + off, vals, 0.4, yerr=err, capsize=3, color=colour, label=name)
            ax.set_xticks(pos, [k.split(".")[-1] for k in keys], rotation=35, ha="right", fontsize=8)
            ax.axhline(0, color="black", lw=0.6)
            ax.set_ylabel("Sobol index")
            ax.legend(fontsize=8)
        else:
            for k in keys:
                ax.errorbar(ix[k]["mu_star"], ix[k]["sigma"], xerr=ix[k]["mu_star_conf"] or 0.0, fmt="o")
                ax.annotate(k.split(".")[-1], (ix[k]["mu_star"], ix[k]["sigma"]), fontsize=8,
                            xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel("mu* (mean |elementary effect|)")
            ax.set_ylabel("sigma")
        ax.set_title(c, fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(Path(path), dpi=110)
    plt.close(fig)
    return True


def write_folder(result: dict[str, Any], store: Any, dest: Path, *, force: bool, argv: list[str], root: Path,
                 written: list[Path] | None = None) -> None:
    """sensitivity.json, sensitivity.csv, the plot and provenance, in one atomically written folder."""
    import time

    from runs import outputs, provenance

    started, t0 = provenance.now_utc(), time.perf_counter()
    m = store.manifest()
    method = result["method"]
    with outputs.atomic_folder(dest, force, written) as tmp:
        outputs.write_json(tmp / "sensitivity.json", {"sweep": m["definition"]["name"],
                                                      "definition_sha256": m["definition_sha256"], **result})
        table = rows(result)
        outputs.write_csv(tmp / "sensitivity.csv", {c: [("" if r[c] is None else r[c]) if c in ("output", "parameter")
                                                         else (math.nan if r[c] is None else r[c]) for r in table]
                                                     for c in COLUMNS[method]})
        plot(result, tmp / f"{method}.png",
             f"{m['definition']['name']}: {method}, {result['rows']} design rows x {result['replicates']} replicate(s)")
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="sensitivity", root=root, argv=argv, started=started, wall_time_s=time.perf_counter() - t0,
            sweep=str(store.root), definition_sha256=m["definition_sha256"],
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))
