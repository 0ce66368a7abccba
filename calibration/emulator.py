"""An emulator of the simulator: each statistic's expected value as a quadratic function of the parameters.

Fitted by least squares to the design's runs (calibration/area_design.py). Regression over hundreds of design
points averages out the simulator's own seed-to-seed noise at the design scale, so the likelihood compares the
data with the model's *expected* outcome, not with one noisy run: that is how the extra noise of a small
calibration scale is corrected for. What the quadratic cannot capture is measured by K-fold cross-validation and
carried into the likelihood as emulator error (`err_var`), together with the uncertainty of the fitted
coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Emulator", "fit_emulator", "quadratic_features", "known_values"]


def quadratic_features(x: np.ndarray) -> np.ndarray:
    """[1, x_i, x_i x_j (i <= j)] for points scaled to [-1, 1] (n x d -> n x (1 + d + d(d+1)/2))."""
    x = np.atleast_2d(x)
    n, d = x.shape
    iu, ju = np.triu_indices(d)
    return np.concatenate([np.ones((n, 1)), x, x[:, iu] * x[:, ju]], axis=1)


@dataclass
class Emulator:
    keys: list[str]
    lo: np.ndarray
    hi: np.ndarray
    names: list[str]
    coef: np.ndarray        # features x statistics
    resid_var: np.ndarray   # in-sample residual variance (the simulator's noise at the design scale, plus misfit)
    err_var: np.ndarray     # variance of the emulator's error for the expected value
    cv_rmse: np.ndarray     # K-fold cross-validated RMSE against single runs
    cv_r2: np.ndarray
    n_points: int

    def scaled(self, theta: np.ndarray) -> np.ndarray:
        return 2.0 * (np.atleast_2d(theta) - self.lo) / (self.hi - self.lo) - 1.0

    def mean(self, theta: np.ndarray, names: list[str] | None = None) -> np.ndarray:
        """Expected statistics at the points (n x statistics, in `names` order if given)."""
        f = quadratic_features(self.scaled(theta))
        if names is None:
            return f @ self.coef
        idx = [self.names.index(s) for s in names]
        return f @ self.coef[:, idx]

    def index(self, names: list[str]) -> list[int]:
        return [self.names.index(s) for s in names]


def _lstsq(f: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    p = f.shape[1]
    a = f.T @ f + ridge * np.eye(p)
    a[0, 0] -= ridge  # no shrinkage of the intercept
    return np.linalg.solve(a, f.T @ y)


def fit_emulator(keys: list[str], lo: np.ndarray, hi: np.ndarray, theta: np.ndarray, y: dict[str, np.ndarray], *,
                 folds: int = 5, ridge: float = 1e-3, seed: int = 0) -> Emulator:
    """Fit one quadratic per statistic in `y` (name -> values at the design points; NaN rows are left out of that
    statistic's fit). A statistic with fewer complete rows than twice the number of coefficients is dropped."""
    x = 2.0 * (theta - lo) / (hi - lo) - 1.0
    f_all = quadratic_features(x)
    n, p = f_all.shape
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % folds
    names, coefs, rv, ev, cvr, r2 = [], [], [], [], [], []
    for name, values in y.items():
        ok = np.isfinite(values)
        if ok.sum() < 2 * p:
            continue
        f, v = f_all[ok], values[ok]
        c = _lstsq(f, v, ridge)
        resid = v - f @ c
        dof = max(len(v) - p, 1)
        s2 = float(resid @ resid) / dof
        pred = np.empty_like(v)
        fo = fold[ok]
        for k in range(folds):
            test = fo == k
            if test.any() and (~test).sum() > p:
                pred[test] = f[test] @ _lstsq(f[~test], v[~test], ridge)
            else:
                pred[test] = f[test] @ c
        cv_mse = float(np.mean((v - pred) ** 2))
        var_y = float(np.var(v))
        # Error of the expected value: coefficient uncertainty (s2 p / n) plus whatever cross-validation adds
        # beyond the in-sample noise (misfit of the quadratic).
        err = s2 * p / len(v) + max(0.0, cv_mse - s2)
        names.append(name)
        coefs.append(c)
        rv.append(s2)
        ev.append(err)
        cvr.append(np.sqrt(cv_mse))
        r2.append(1.0 - cv_mse / var_y if var_y > 0 else 1.0)
    coef = np.stack(coefs, axis=1) if coefs else np.zeros((p, 0))
    return Emulator(list(keys), np.asarray(lo, float), np.asarray(hi, float), names, coef, np.array(rv),
                    np.array(ev), np.array(cvr), np.array(r2), n)


def known_values(keys: list[str], names: list[str]) -> Emulator:
    """A stand-in with no error for statistics whose values are known (one run, as in parameter recovery or ABC):
    the observation model's covariance of those figures without any emulator error."""
    d, k = len(keys), len(names)
    p = 1 + d + d * (d + 1) // 2
    z = np.zeros(k)
    return Emulator(list(keys), np.zeros(d), np.ones(d), list(names), np.zeros((p, k)), z, z, z, np.ones(k), 0)
