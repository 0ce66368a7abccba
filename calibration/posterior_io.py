"""The calibrated posterior on disk: a weighted sample of particles, and its provenance.

``calibration/posterior/wigan.csv`` holds one row per particle: ``weight`` and then every free parameter by its
dotted scenario key; ``calibration/posterior/wigan.json`` (same name, ``.json``) says how it was made. Other
commands draw parameter sets from it::

    from calibration import load_posterior, posterior_draws
    post = load_posterior()                                   # calibration/posterior/wigan.csv by default
    for params in posterior_draws(post, 20, np.random.default_rng(0)):
        loaded = apply_overrides(load_scenario("scenarios/wigan.yaml"), params)

Nothing here imports pyabc, so using a posterior is cheap.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.yamlfile import InputError as CalibrationError

__all__ = ["Posterior", "DEFAULT_POSTERIOR", "load_posterior", "posterior_draws", "draw_indices", "area_terms_path",
           "write_posterior",
           "provenance_path"]

HERE = Path(__file__).resolve().parent
DEFAULT_POSTERIOR = HERE / "posterior" / "wigan.csv"


@dataclass(frozen=True)
class Posterior:
    """A weighted posterior sample: ``values[i, j]`` is particle i's value of parameter ``keys[j]``."""

    keys: tuple[str, ...]
    values: np.ndarray          # shape (n, k), float
    weights: np.ndarray         # shape (n,), non-negative, summing to 1
    provenance: dict = field(default_factory=dict)
    path: Path | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def params(self) -> list[dict[str, float]]:
        """Every particle as ``{dotted key: value}`` (in file order)."""
        return [self.particle(i) for i in range(len(self))]

    def particle(self, i: int) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.keys, self.values[i])}

    def mean(self) -> dict[str, float]:
        """Weighted mean of each parameter."""
        return {k: float(v) for k, v in zip(self.keys, self.weights @ self.values)}

    def quantile(self, q: float) -> dict[str, float]:
        """Weighted quantile ``q`` (0-1) of each parameter (inverse of the weighted empirical CDF)."""
        out = {}
        for j, k in enumerate(self.keys):
            order = np.argsort(self.values[:, j], kind="stable")
            cdf = np.cumsum(self.weights[order])
            i = int(np.searchsorted(cdf, q * cdf[-1], side="left"))
            out[k] = float(self.values[order[min(i, len(order) - 1)], j])
        return out

    def ess(self) -> float:
        """Effective sample size (sum w)^2 / sum w^2."""
        return float(1.0 / np.sum(self.weights ** 2))


def provenance_path(csv_path: str | os.PathLike[str]) -> Path:
    return Path(csv_path).with_suffix(".json")


def load_posterior(path: str | os.PathLike[str] | None = None) -> Posterior:
    """Read a posterior CSV (or its JSON: the CSV beside it is read) and its provenance.

    Default: ``calibration/posterior/wigan.csv``. Raises CalibrationError naming the file for a missing file,
    a bad header, a non-numeric or non-finite value, negative weights or weights that sum to 0.
    """
    p = Path(os.path.expanduser(os.fspath(path))) if path is not None else DEFAULT_POSTERIOR
    if p.suffix == ".json":
        p = p.with_suffix(".csv")
    shown = os.fspath(p)
    if not p.is_file():
        hint = " (run 'python simulate.py calibrate calibration/wigan.yaml' first)" if path is None else ""
        raise CalibrationError(f"posterior not found{hint}", shown)
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"cannot read the posterior ({exc})", shown) from None
    if not rows or not rows[0] or rows[0][0] != "weight" or len(rows[0]) < 2:
        raise CalibrationError("expected a header 'weight,<parameter>,...'", shown, "", 1)
    keys = tuple(rows[0][1:])
    if len(set(keys)) != len(keys):
        raise CalibrationError("a parameter appears twice in the header", shown, "", 1)
    data = []
    for i, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(keys) + 1:
            raise CalibrationError(f"expected {len(keys) + 1} values, got {len(row)}", shown, "", i)
        try:
            vals = [float(x) for x in row]
        except ValueError:
            raise CalibrationError("expected numbers", shown, "", i) from None
        if not all(math.isfinite(v) for v in vals):
            raise CalibrationError("values must be finite numbers", shown, "", i)
        if vals[0] < 0:
            raise CalibrationError("weights must not be negative", shown, "weight", i)
        data.append(vals)
    if not data:
        raise CalibrationError("no particles", shown)
    arr = np.asarray(data, dtype=float)
    w = arr[:, 0]
    if w.sum() <= 0:
        raise CalibrationError("the weights sum to 0", shown)
    prov: dict = {}
    jp = provenance_path(p)
    if jp.is_file():
        try:
            prov = json.loads(jp.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"cannot read the provenance ({exc})", os.fspath(jp)) from None
        listed = prov.get("parameters")
        if isinstance(listed, Mapping) and list(listed) != list(keys):
            raise CalibrationError(f"the provenance lists other parameters than the CSV ({', '.join(listed)})",
                                   os.fspath(jp), "parameters")
    return Posterior(keys=keys, values=arr[:, 1:].copy(), weights=w / w.sum(), provenance=prov, path=p.resolve())


def posterior_draws(post: Posterior, n: int, rng: np.random.Generator | int | None = None) -> list[dict[str, float]]:
    """``n`` parameter sets drawn with replacement, with probability proportional to the particles' weights.

    ``rng`` is a numpy Generator (or a seed); the same generator state gives the same draws.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [post.particle(int(i)) for i in draw_indices(post, n, rng)]


def draw_indices(post: Posterior, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """The rows `posterior_draws` takes (same generator state, same rows): to read a companion file row by row."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return g.choice(len(post), size=n, replace=True, p=post.weights)


def area_terms_path(path: str | os.PathLike[str]) -> Path:
    """The multi-area posterior's companion: each row's spreads of the area terms and observation noise
    (``areas.csv`` -> ``areas_area_terms.csv``, row by row). Not a parameter file: nothing in it is a scenario key."""
    p = Path(path)
    return p.with_name(f"{p.stem}_area_terms{p.suffix}")


def write_posterior(path: str | os.PathLike[str], keys: Sequence[str], values: np.ndarray, weights: np.ndarray,
                    provenance: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``path`` (CSV) and its JSON provenance, each atomically (runs.outputs.write_file)."""
    from runs.outputs import jsonable, write_file

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()

    def table(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            wr = csv.writer(fh, lineterminator="\n")
            wr.writerow(["weight", *keys])
            for wi, row in zip(w.tolist(), np.asarray(values, dtype=float).tolist()):
                wr.writerow([repr(float(wi)), *(repr(float(x)) for x in row)])

    write_file(p, table)
    jp = provenance_path(p)
    text = json.dumps(jsonable(dict(provenance)), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_file(jp, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return p, jp
