"""An emulator of the simulator: each statistic's expected value as a quadratic function of the parameters.

Fitted by least squares to the design's runs (calibration/area_design.py). Regression over hundreds of design
points averages out the simulator's own seed-to-seed noise at the design scale, so the likelihood compares the
data with the model's *expected* outcome, not with one noisy run: that is how the extra noise of a small
calibration scale is corrected for. What the quadratic cannot capture is measured by K-fold cross-validation and
carried into the likelihood as emulator error (`err_var`), together with the uncertainty of the fitted
coefficients.

An experiment, not the default (`select_parameters`): each statistic keeps only the parameters it depends on. A
full quadratic in d parameters has 1 + d + d(d+1)/2 terms (136 for 15), and at a small design scale the runs are
noisy, so the coefficients' own uncertainty (the run noise s2 times terms / points) is most of the error of the
expected value for a statistic such as life expectancy, which depends on a few parameters only. Parameters are
dropped one at a time (all their terms together) while that lowers the estimated error of the expected value,
max(CV MSE - s2, s2 p / n), where the runs' noise s2 is the full quadratic's residual variance; the periods of one
series share one set (`select`). A dropped parameter's coefficients are zero. On the multi-area design it sharpened
life expectancy's emulators, but the posterior became overconfident (placebos and leave-one-area-out coverage got
worse), chosen per statistic or per series: docs/calibration.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Emulator", "fit_emulator", "quadratic_features", "feature_columns", "known_values", "min_points"]


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
    active: list[list[str]] | None = None  # per statistic, the parameters its quadratic keeps (fit_emulator's select)

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


def feature_columns(d: int, active: frozenset[int]) -> np.ndarray:
    """The columns of quadratic_features(x) that involve only the parameters in `active` (and the intercept)."""
    iu, ju = np.triu_indices(d)
    lin = [1 + i for i in range(d) if i in active]
    quad = [1 + d + k for k, (i, j) in enumerate(zip(iu, ju)) if i in active and j in active]
    return np.array([0, *lin, *quad])


class _Moments:
    """Gram matrices of the design's features, whole and without each fold, so that a fit on any subset of the
    columns is a small solve (selection tries many subsets)."""

    def __init__(self, f: np.ndarray, fold: np.ndarray, folds: int):
        self.f, self.fold, self.folds = f, fold, folds
        self.g = f.T @ f
        self.g_out = [self.g - f[fold == k].T @ f[fold == k] for k in range(folds)]

    def fit(self, cols: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, float, float]:
        """(coefficients on `cols`, in-sample residual variance, K-fold CV MSE) for values y at every row."""
        f, n, p = self.f[:, cols], len(y), len(cols)
        reg = ridge * np.eye(p)
        reg[0, 0] = 0.0  # no shrinkage of the intercept
        fy = f.T @ y
        c = np.linalg.solve(self.g[np.ix_(cols, cols)] + reg, fy)
        resid = y - f @ c
        s2 = float(resid @ resid) / max(n - p, 1)
        err2 = 0.0
        for k in range(self.folds):
            test = self.fold == k
            if not test.any() or (~test).sum() <= p:
                err2 += float(resid[test] @ resid[test])
                continue
            ck = np.linalg.solve(self.g_out[k][np.ix_(cols, cols)] + reg, fy - f[test].T @ y[test])
            r = y[test] - f[test] @ ck
            err2 += float(r @ r)
        return c, s2, err2 / n


def _error(s2: float, cv_mse: float, p: int, n: int) -> float:
    """Error variance of the full quadratic's expected value: coefficient uncertainty (s2 p / n) plus whatever
    cross-validation adds beyond the in-sample noise (misfit)."""
    return s2 * p / n + max(0.0, cv_mse - s2)


def _subset_error(noise: float, cv_mse: float, p: int, n: int) -> float:
    """Error variance of a reduced quadratic's expected value: its cross-validated error beyond the runs' own noise
    (estimated by the full quadratic's residual variance, which a reduced fit's own residuals would overstate by
    its misfit), and never less than the coefficients' uncertainty."""
    return max(cv_mse - noise, noise * p / n)


def series_of(name: str) -> str:
    """The series a statistic belongs to: its name without the period ("hle_male_true[2015-17]" -> "hle_male_true")."""
    return name.split("[")[0]


def select(members: list[tuple[_Moments, np.ndarray]], d: int, ridge: float
           ) -> tuple[frozenset[int], list[tuple[np.ndarray, float, float, float]]]:
    """Backward elimination of parameters for one series (its statistics, one per period, share one set, so the
    choice cannot follow one period's noise): first each parameter's removal is tried from the full set, then
    parameters are removed in order of that gain, each kept out only if the series' summed error still falls.
    Returns the active parameters and, per member, (coefficients on their columns, the runs' noise variance, CV
    MSE, error variance)."""
    full = feature_columns(d, frozenset(range(d)))
    noise = [m.fit(full, y, ridge)[1] for m, y in members]

    def evaluate(active: frozenset[int]) -> tuple[float, list[tuple[np.ndarray, float, float, float]]]:
        cols = feature_columns(d, active)
        out = []
        for (m, y), nz in zip(members, noise):
            c, _, cv = m.fit(cols, y, ridge)
            out.append((c, nz, cv, _subset_error(nz, cv, len(cols), len(y))))
        return sum(o[3] for o in out), out

    active = frozenset(range(d))
    best, fits = evaluate(active)
    gains = sorted((evaluate(active - {j})[0] - best, j) for j in range(d))
    for gain, j in gains:
        if gain >= 0 or len(active) == 1:
            break
        total, trial_fits = evaluate(active - {j})
        if total < best:
            active, best, fits = active - {j}, total, trial_fits
    return active, fits


def min_points(d: int) -> int:
    """The fewest complete runs a full quadratic in `d` parameters is fitted to (twice its coefficients); with
    fewer, `fit_emulator` drops the statistic, so a design smaller than this emulates nothing."""
    return 2 * (1 + d + d * (d + 1) // 2)


def fit_emulator(keys: list[str], lo: np.ndarray, hi: np.ndarray, theta: np.ndarray, y: dict[str, np.ndarray], *,
                 folds: int = 5, ridge: float = 1e-3, seed: int = 0, select_parameters: bool = False) -> Emulator:
    """Fit one quadratic per statistic in `y` (name -> values at the design points; NaN rows are left out of that
    statistic's fit), in all the parameters, or with `select_parameters` only in those it depends on (`select`). A
    statistic with fewer complete rows than twice the number of coefficients is dropped."""
    x = 2.0 * (theta - lo) / (hi - lo) - 1.0
    f_all = quadratic_features(x)
    n, p = f_all.shape
    d = x.shape[1]
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % folds
    moments: dict[bytes, _Moments] = {}
    kept = {name: np.isfinite(v) for name, v in y.items() if np.isfinite(v).sum() >= 2 * p}
    chosen: dict[str, tuple[frozenset[int], np.ndarray, float, float, float]] = {}
    if select_parameters:
        groups: dict[str, list[str]] = {}
        for name in kept:
            groups.setdefault(series_of(name), []).append(name)
        for members in groups.values():
            ms = []
            for name in members:
                ok = kept[name]
                key = np.packbits(ok).tobytes()
                if key not in moments:
                    moments[key] = _Moments(f_all[ok], fold[ok], folds)
                ms.append((moments[key], y[name][ok]))
            active, fits = select(ms, d, ridge)
            for name, (c_sel, s2, cv_mse, err) in zip(members, fits):
                c = np.zeros(p)
                c[feature_columns(d, active)] = c_sel
                chosen[name] = (active, c, s2, cv_mse, err)
    names, coefs, rv, ev, cvr, r2, act = [], [], [], [], [], [], []
    for name, ok in kept.items():
        f, v = f_all[ok], y[name][ok]
        if select_parameters:
            active, c, s2, cv_mse, err = chosen[name]
        else:
            active = frozenset(range(d))
            c = _lstsq(f, v, ridge)
            resid = v - f @ c
            s2 = float(resid @ resid) / max(len(v) - p, 1)
            pred = np.empty_like(v)
            fo = fold[ok]
            for k in range(folds):
                test = fo == k
                if test.any() and (~test).sum() > p:
                    pred[test] = f[test] @ _lstsq(f[~test], v[~test], ridge)
                else:
                    pred[test] = f[test] @ c
            cv_mse = float(np.mean((v - pred) ** 2))
            err = _error(s2, cv_mse, p, len(v))
        var_y = float(np.var(v))
        names.append(name)
        coefs.append(c)
        rv.append(s2)
        ev.append(err)
        cvr.append(np.sqrt(cv_mse))
        r2.append(1.0 - cv_mse / var_y if var_y > 0 else 1.0)
        act.append(sorted(keys[j] for j in active))
    coef = np.stack(coefs, axis=1) if coefs else np.zeros((p, 0))
    return Emulator(list(keys), np.asarray(lo, float), np.asarray(hi, float), names, coef, np.array(rv),
                    np.array(ev), np.array(cvr), np.array(r2), n, act)


def known_values(keys: list[str], names: list[str]) -> Emulator:
    """A stand-in with no error for statistics whose values are known (one run, as in parameter recovery or ABC):
    the observation model's covariance of those figures without any emulator error."""
    d, k = len(keys), len(names)
    p = 1 + d + d * (d + 1) // 2
    z = np.zeros(k)
    return Emulator(list(keys), np.zeros(d), np.ones(d), list(names), np.zeros((p, k)), z, z, z, np.ones(k), 0)
