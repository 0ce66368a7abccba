"""Calibration by approximate Bayesian computation, sequential Monte Carlo (ABC-SMC, pyabc).

    cal = load_calibration("calibration/wigan.yaml")
    result = run_calibration(cal, out_dir=Path("results/calibration_wigan"), workers=2)

* **Model function** (:class:`ModelFunction`): a parameter set (the free parameters, by dotted key) -> the
  scenario with those values and ``time.end`` set to the calibration's end -> ``DealModel(..., seed, scale).run()``
  -> the fit statistics of the targets (``calibration.targets``). The seed is derived from the parameter values
  (:func:`seed_for`: SHA-256 of the sorted (key, value) pairs), so any particle can be re-run exactly. A run that
  cannot report a statistic (e.g. a life table with no deaths in an age band at a very small scale) gives NaN.
* **Distance**: weighted Euclidean, each statistic's difference divided by its target's ``sd``; a NaN statistic
  gives an infinite distance, and such a particle is never accepted (:class:`FiniteAcceptor`).
* **Epsilon**: pyabc's default adaptive median schedule (the first from a calibration sample of
  ``population_size`` prior draws); **transition**: multivariate normal fitted to the last population, its
  covariance widened by ``abc.transition_scaling`` (default 3, see ``config.TRANSITION_SCALING``: pyabc's
  default of 1 let the importance weights collapse onto a handful of particles with 15 free parameters).
* **Sampler**: all local cores (``MulticoreEvalParallelSampler``), or a Dask cluster (``DaskDistributedSampler``)
  given its scheduler address.
* **Resuming**: pyabc's SQLite database lives in the output folder (``DIR/abc.db``) with ``DIR/state.json``
  (run id, the settings that define the posterior, wall time used so far). Running again continues from the last
  completed generation, for the generations and the wall time that remain; a generation cut short is lost and
  re-sampled. Changing what defines the posterior (priors, targets, scenario, scale, end, population size) is
  refused unless ``fresh``; stopping rules may change between sessions.
* **Stopping** (checked after every generation): ``max_generations``; epsilon at or below ``min_epsilon``;
  acceptance rate below ``min_acceptance_rate`` (pyabc also abandons a generation once it has used
  ``population_size / min_acceptance_rate`` simulations); wall time: no generation is started once
  ``max_walltime_minutes`` is used, nor when the next generation is predicted to end after it (prediction:
  the last generation's time, times the growth from the one before, between 1 and 3).
* **Result**: the last generation's weighted particles, written by :func:`write_result` to
  ``calibration/posterior/<name>.csv`` and ``.json`` (provenance), and copied into the output folder.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyabc

from model.yamlfile import InputError as CalibrationError
from .config import Calibration
from .posterior_io import DEFAULT_POSTERIOR, Posterior, load_posterior, posterior_draws, write_posterior
from .simulation import run_model, seed_for
from .targets import Stat, distance, observed, sds, simulated

__all__ = [
    "ModelFunction", "ScaledDistance", "FiniteAcceptor", "seed_for", "run_model", "make_abc", "run_calibration",
    "CalibrationResult", "Interrupted", "default_out_dir", "default_posterior_path", "write_result",
    "Posterior", "load_posterior", "posterior_draws", "DEFAULT_POSTERIOR",
]

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "abc.db"
STATE_NAME = "state.json"
log = logging.getLogger("dealsim.calibration")


# ---------------------------------------------------------------------------------------------
# One simulation
# ---------------------------------------------------------------------------------------------
_WARNED = [False]


class ModelFunction:
    """pyabc's model: free parameters -> fit statistics ``{stat name: value}`` (NaN where not reported).

    Picklable (holds the loaded scenario, not file names), so it runs in forked processes and on Dask workers.
    """

    def __init__(self, loaded: Any, keys: Sequence[str], stats: Sequence[Stat], scale: float, end: str):
        self.loaded = loaded
        self.keys = tuple(keys)
        self.stats = tuple(stats)
        self.scale = float(scale)
        self.end = end
        self._parent = os.getpid()
        self._quiet_signals = False

    def _child_signals(self) -> None:
        """In a worker forked from the calibrating process: leave Ctrl-C to the parent (which saves the state and
        stops the workers) and die quietly when it terminates us, instead of printing tracebacks."""
        self._quiet_signals = True
        if os.getppid() != self._parent:
            return
        import signal

        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        except ValueError:  # not the main thread
            pass

    @classmethod
    def from_calibration(cls, cal: Calibration, scale: float | None = None) -> "ModelFunction":
        return cls(cal.loaded, cal.keys, cal.stats("fit"), cal.scale if scale is None else scale, cal.end)

    def params(self, params: Mapping[str, Any]) -> dict[str, float]:
        return {k: float(params[k]) for k in self.keys}

    def __call__(self, params: Mapping[str, Any]) -> dict[str, float]:
        if not self._quiet_signals and os.getpid() != self._parent:
            self._child_signals()
        p = self.params(params)
        outcomes, err = run_model(self.loaded, {**p, "time.end": self.end}, seed_for(p), self.scale)
        if outcomes is None:
            if not _WARNED[0]:  # once per process: the distance is infinite, the particle is rejected
                _WARNED[0] = True
                print(f"note: a simulation gave no statistics ({err}); such particles are rejected",
                      file=sys.stderr, flush=True)
            return {s.name: math.nan for s in self.stats}
        return simulated(outcomes, self.stats)


class ScaledDistance:
    """Weighted Euclidean distance: each statistic's difference divided by its target's sd; NaN -> inf."""

    def __init__(self, sd: Mapping[str, float]):
        self.sd = dict(sd)

    def __call__(self, x: Mapping[str, float], x_0: Mapping[str, float]) -> float:
        return distance(x, x_0, self.sd)


class FiniteAcceptor(pyabc.acceptor.UniformAcceptor):
    """pyabc's uniform acceptor (accept if distance <= epsilon), never accepting an infinite distance
    (a run that could not report every statistic), even while epsilon is itself infinite."""

    def __call__(self, distance_function, eps, x, x_0, t, par):
        res = super().__call__(distance_function, eps, x, x_0, t, par)
        if not math.isfinite(float(res.distance)):
            res.accept = False
        return res


def warm_up(loaded: Any) -> None:
    """One tiny run in this process, so the model's Numba kernels are compiled (or loaded from the cache) once
    here and inherited by forked worker processes, instead of once per worker and generation."""
    run_model(loaded, {"time.end": loaded.scenario.time.start}, seed=0, scale=0.005)


class BoxedNormalTransition(pyabc.MultivariateNormalTransition):
    """pyabc's multivariate normal transition (Gaussian KDE of the last population), proposing only inside the
    prior's box.

    pyabc redraws a proposal until the prior density is positive, one draw at a time through pandas; with 15
    uniform priors and a widened kernel most draws fall outside some bound, so that loop cost up to 60 ms per
    simulation. Here candidates are drawn in batches with NumPy and the first inside the box is taken: the same
    distribution (the kernel density truncated to the box), whose density differs from ``pdf`` (inherited) only
    by a constant that cancels when pyabc normalises the weights.
    """

    BATCH = 256

    def __init__(self, low: Mapping[str, float], high: Mapping[str, float], scaling: float = 1.0):
        super().__init__(scaling=scaling)
        self.low, self.high = dict(low), dict(high)

    def fit(self, X, w) -> None:
        super().fit(X, w)
        self._cols = list(X.columns)
        self._lo = np.array([self.low[c] for c in self._cols], dtype=float)
        self._hi = np.array([self.high[c] for c in self._cols], dtype=float)
        vals, vecs = np.linalg.eigh(np.atleast_2d(self.cov))
        self._root = vecs * np.sqrt(np.clip(vals, 0.0, None))  # root @ root.T == cov, also when singular
        self._Xv = X.to_numpy(dtype=float)
        self._p = np.asarray(w, dtype=float) / np.sum(w)

    def rvs_single(self):
        d = len(self._cols)
        for _ in range(200):
            idx = np.random.choice(len(self._p), size=self.BATCH, p=self._p)
            cand = self._Xv[idx] + np.random.standard_normal((self.BATCH, d)) @ self._root.T
            inside = np.all((cand >= self._lo) & (cand <= self._hi), axis=1)
            if inside.any():
                return pyabc.Parameter(dict(zip(self._cols, cand[int(np.argmax(inside))].tolist())))
        return super().rvs_single()  # pragma: no cover - pyabc's own loop then redraws


def _prior(cal: Calibration) -> pyabc.Distribution:
    return pyabc.Distribution(**{k: pyabc.RV("uniform", p.low, p.high - p.low) for k, p in cal.parameters.items()})


def make_sampler(workers: int | None = None, scheduler: str | None = None) -> tuple[Any, Any]:
    """(sampler, dask client or None): pyabc's own local processes by default (its sampler owns the population
    loop, so the executor's map cannot stand in for it), a Dask cluster given its address."""
    if scheduler:
        from runs.executor import connect  # the project's one way to reach a Dask scheduler

        try:
            client = connect(scheduler, timeout=20.0)
        except (OSError, TimeoutError, ValueError) as exc:
            raise CalibrationError(f"cannot connect to the Dask scheduler at {scheduler!r} ({exc})") from None
        return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), client
    n = workers or os.cpu_count() or 1
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=n), None


def make_abc(cal: Calibration, sampler: Any, scale: float | None = None) -> pyabc.ABCSMC:
    fit = cal.stats("fit")
    return pyabc.ABCSMC(
        models=ModelFunction.from_calibration(cal, scale),
        parameter_priors=_prior(cal),
        distance_function=ScaledDistance(sds(fit)),
        population_size=cal.population_size,
        sampler=sampler,
        transitions=BoxedNormalTransition({k: p.low for k, p in cal.parameters.items()},
                                          {k: p.high for k, p in cal.parameters.items()}, cal.transition_scaling),
        acceptor=FiniteAcceptor(),
    )


# ---------------------------------------------------------------------------------------------
# Output folder, state and resuming
# ---------------------------------------------------------------------------------------------
def default_out_dir(cal: Calibration) -> Path:
    """Where abc.db lives unless --out: ``results/calibration_<name>`` (a stable name, so a rerun resumes)."""
    return Path("results") / f"calibration_{cal.name}"


def default_posterior_path(cal: Calibration) -> Path:
    """``<folder of the calibration file>/posterior/<name>.csv``: calibration/posterior/wigan.csv."""
    return cal.path.parent / "posterior" / f"{cal.name}.csv"


def fingerprint(cal: Calibration, scale: float) -> dict[str, Any]:
    """What defines the posterior: a resumed run must have the same."""
    return {
        "parameters": {k: [p.low, p.high] for k, p in cal.parameters.items()},
        "fit_statistics": [[s.name, s.observed, s.sd] for s in cal.stats("fit")],
        "scenario_sha256": cal.loaded.sha256,
        "scale": float(scale),
        "end": cal.end,
        "population_size": cal.population_size,
    }


def _read_state(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_state(path: Path, state: dict) -> None:
    from runs.outputs import write_file

    text = json.dumps(state, indent=2) + "\n"
    write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _differences(a: dict, b: dict) -> list[str]:
    names = {"parameters": "free parameters or priors", "fit_statistics": "fit targets", "scenario_sha256": "scenario",
             "scale": "scale", "end": "simulation end", "population_size": "population size"}
    return [names.get(k, k) for k in names if a.get(k) != b.get(k)]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a calibration; ``generations`` were completed and are kept for resuming."""

    def __init__(self, generations: int, out_dir: Path, terminated: bool = False):
        super().__init__()
        self.generations = generations
        self.out_dir = out_dir
        self.terminated = terminated  # SIGTERM rather than Ctrl-C


@dataclass
class CalibrationResult:
    posterior: Posterior
    posterior_path: Path
    out_dir: Path
    provenance: dict
    stop_reason: str
    generations: list[dict] = field(default_factory=list)
    resumed_from: int = 0


def _generations(history: Any) -> list[dict]:
    """Every completed generation in the database: t, epsilon, acceptance, simulations, ESS, wall time."""
    pops = history.get_all_populations()
    out = []
    for _, row in pops.iterrows():
        t = int(row["t"])
        if t < 0:
            continue
        samples, particles = int(row["samples"]), int(row["particles"])
        try:
            w = history.get_weighted_distances(t=t)["w"].to_numpy(dtype=float)
            ess = float(w.sum() ** 2 / np.sum(w ** 2)) if w.size else math.nan
        except Exception:  # pragma: no cover - informational only
            ess = math.nan
        out.append({"t": t, "epsilon": float(row["epsilon"]), "accepted": particles, "simulations": samples,
                    "acceptance_rate": particles / samples if samples else math.nan, "ess": ess,
                    "wall_time_s": float(row["wall_time"]) if row.get("wall_time") is not None else math.nan})
    return out


def _line(g: dict, max_gen: int, total: int, elapsed: float) -> str:
    return (f"generation {g['t'] + 1}/{max_gen}: epsilon {g['epsilon']:.4g}, acceptance {g['acceptance_rate']:.3f} "
            f"({g['accepted']}/{g['simulations']}), ESS {g['ess']:.0f}, simulations so far {total:,}, "
            f"{g['wall_time_s']:.0f} s, elapsed {elapsed / 60:.1f} min")


def run_calibration(cal: Calibration, out_dir: str | os.PathLike[str] | None = None, *, workers: int | None = None,
                    scheduler: str | None = None, scale: float | None = None,
                    posterior_path: str | os.PathLike[str] | None = None, fresh: bool = False,
                    report: Callable[[str], None] | None = None, argv: Sequence[str] | None = None) -> CalibrationResult:
    """Run (or resume) the ABC-SMC calibration; write the posterior; return it with its provenance.

    ``report`` receives one line per event (start, each generation, stop); None for silence. Raises
    :class:`Interrupted` on Ctrl-C/SIGTERM after saving the state (completed generations are kept), and
    CalibrationError for a database that does not match the calibration settings.
    """
    say = report or (lambda s: None)
    scale = cal.scale if scale is None else float(scale)
    out = Path(out_dir) if out_dir is not None else default_out_dir(cal)
    post_path = Path(posterior_path) if posterior_path is not None else default_posterior_path(cal)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CalibrationError(f"cannot create the output folder ({exc.strerror or exc})", os.fspath(out)) from None
    db, state_path = out / DB_NAME, out / STATE_NAME
    fp = fingerprint(cal, scale)
    if fresh:
        for p in (db, state_path):
            if p.exists():
                p.unlink()
    state = _read_state(state_path)
    if db.exists():
        if state is None or "run_id" not in state:
            raise CalibrationError(f"{DB_NAME} has no readable {STATE_NAME} beside it, so it cannot be resumed "
                                   "(add --fresh to start again, or choose another --out)", os.fspath(out))
        diff = _differences(state.get("fingerprint", {}), fp)
        if diff:
            raise CalibrationError(f"{DB_NAME} here was made with different settings ({', '.join(diff)}): add --fresh "
                                   "to start again, or choose another --out", os.fspath(out))
    db_url = "sqlite:///" + os.fspath(db.resolve())

    for name in ("ABC", "pyabc"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if not scheduler:
        warm_up(cal.loaded)
    sampler, client = make_sampler(workers, scheduler)
    session_t0 = time.perf_counter()
    done_before = 0
    state = state if (state and db.exists()) else None
    elapsed_before = float(state.get("elapsed_s", 0.0)) if state else 0.0
    gens: list[dict] = []
    stop = ""
    try:
        abc = make_abc(cal, sampler, scale)
        history = None
        if state is not None:
            history = abc.load(db_url, int(state["run_id"]))
            if history.max_t < 0:  # nothing completed: start again
                history = None
                db.unlink()
                state = None
                elapsed_before = 0.0
        if history is None:
            if db.exists():
                db.unlink()
            fit = cal.stats("fit")
            history = abc.new(db_url, observed(fit), meta_info={"calibration": os.fspath(cal.path)})
            state = {"run_id": int(history.id), "fingerprint": fp, "elapsed_s": 0.0, "sessions": []}
            _write_state(state_path, state)
            say(f"calibrating {len(cal.keys)} parameters on {len(fit)} fit statistics: population {cal.population_size}, "
                f"scale {scale:g}, to {cal.end}; {_sampler_text(workers, scheduler)}; database {db}")
        else:
            done_before = history.max_t + 1
            say(f"resuming from generation {done_before} in {db} ({elapsed_before / 60:.1f} min used so far); "
                f"{_sampler_text(workers, scheduler)}")
        state.setdefault("sessions", []).append({"started": _now(), "from_generation": done_before, "scale": scale,
                                                 "workers": None if scheduler else (workers or os.cpu_count()),
                                                 "scheduler": scheduler})
        gens = _generations(history)

        def elapsed() -> float:
            return elapsed_before + time.perf_counter() - session_t0

        def save() -> None:
            state["elapsed_s"] = round(elapsed(), 3)
            state["sessions"][-1]["wall_time_s"] = round(time.perf_counter() - session_t0, 3)
            state["generations"] = len(gens)
            _write_state(state_path, state)

        def check() -> str:
            """The reason to stop now, or '' to run another generation."""
            if len(gens) >= cal.max_generations:
                return f"maximum number of generations ({cal.max_generations}) reached"
            if gens and gens[-1]["epsilon"] <= cal.min_epsilon:
                return f"epsilon {gens[-1]['epsilon']:.4g} at or below min_epsilon {cal.min_epsilon:g}"
            if gens and gens[-1]["acceptance_rate"] < cal.min_acceptance_rate:
                return f"acceptance rate {gens[-1]['acceptance_rate']:.4f} below min_acceptance_rate {cal.min_acceptance_rate:g}"
            if cal.max_walltime_minutes is not None:
                limit = cal.max_walltime_minutes * 60.0
                if elapsed() >= limit:
                    return f"wall time {elapsed() / 60:.1f} min reached max_walltime_minutes {cal.max_walltime_minutes:g}"
                walls = [g["wall_time_s"] for g in gens if math.isfinite(g["wall_time_s"])]
                if walls:
                    growth = min(max(walls[-1] / walls[-2], 1.0), 3.0) if len(walls) > 1 and walls[-2] > 0 else 1.0
                    predicted = walls[-1] * growth
                    if elapsed() + predicted > limit:
                        return (f"the next generation (predicted {predicted / 60:.1f} min) would end after "
                                f"max_walltime_minutes {cal.max_walltime_minutes:g} ({elapsed() / 60:.1f} min used)")
            return ""

        stop = check()
        if not stop:
            if history.max_t < 0:
                say(f"sampling {cal.population_size} parameter sets from the prior to set the first epsilon ...")
            t = abc.initialize_components_before_run(
                minimum_epsilon=cal.min_epsilon, max_nr_populations=cal.max_generations - len(gens),
                min_acceptance_rate=cal.min_acceptance_rate, max_total_nr_simulations=np.inf, max_walltime=None,
                min_eps_diff=0.0)
            while True:
                try:
                    ret = abc.run_generation(t=t)
                except (AssertionError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
                    # e.g. 'population total weight nan': a proposal with zero transition density, when the
                    # weights of the last generation have collapsed onto a few particles (ESS far below the
                    # population size; more particles or fewer free parameters help).
                    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    stop = (f"generation {t + 1} failed in pyabc ({msg}); the posterior is generation {len(gens)}'s "
                            f"(ESS {gens[-1]['ess']:.1f})" if gens else f"generation {t + 1} failed in pyabc ({msg})")
                    save()
                    break
                if not ret["successful"]:
                    stop = (f"generation {t + 1} abandoned: acceptance rate below min_acceptance_rate "
                            f"{cal.min_acceptance_rate:g} (more than {cal.population_size / cal.min_acceptance_rate:,.0f} "
                            "simulations)")
                    save()
                    break
                gens = _generations(history)
                save()
                say(_line(gens[-1], cal.max_generations, int(history.total_nr_simulations), elapsed()))
                stop = check()
                if stop:
                    break
                t += 1
        if not gens:
            raise CalibrationError("no generation completed: " + (stop or "stopped"))
        state["stop_reason"] = stop
        save()
    except KeyboardInterrupt as exc:
        terminated = type(exc).__name__ == "Terminated" or bool(getattr(exc, "terminated", False))
        try:
            if state is not None:
                state["elapsed_s"] = round(elapsed_before + time.perf_counter() - session_t0, 3)
                if state.get("sessions"):
                    state["sessions"][-1]["wall_time_s"] = round(time.perf_counter() - session_t0, 3)
                    state["sessions"][-1]["interrupted"] = True
                _write_state(state_path, state)
        finally:
            _stop_sampler(sampler, client)
        raise Interrupted(len(gens), out, terminated) from None
    except BaseException:
        _stop_sampler(sampler, client)
        raise
    _stop_sampler(sampler, client)
    say(f"stopped: {stop}")

    prov = provenance(cal, history, gens, scale=scale, stop=stop, state=state, db=db, workers=workers,
                      scheduler=scheduler, argv=argv)
    post = write_result(cal, history, prov, post_path, out)
    return CalibrationResult(posterior=post, posterior_path=post_path, out_dir=out, provenance=post.provenance, stop_reason=stop,
                             generations=gens, resumed_from=done_before)


def _sampler_text(workers: int | None, scheduler: str | None) -> str:
    if scheduler:
        return f"Dask cluster at {scheduler}"
    n = workers or os.cpu_count() or 1
    return f"{n} local process{'es' if n != 1 else ''}"


def _stop_sampler(sampler: Any, client: Any) -> None:
    try:
        stop = getattr(sampler, "stop", None)
        if callable(stop):
            stop()
    except Exception:  # pragma: no cover - best effort
        pass
    if client is not None:
        try:
            client.close()
        except Exception:  # pragma: no cover
            pass


def _now() -> str:
    from runs.provenance import iso, now_utc

    return iso(now_utc())


def _shown(p: Path) -> str:
    """A path relative to the repository when inside it, else absolute."""
    p = Path(p).resolve()
    try:
        return p.relative_to(ROOT).as_posix()
    except ValueError:
        return os.fspath(p)


def provenance(cal: Calibration, history: Any, gens: list[dict], *, scale: float, stop: str, state: dict, db: Path,
               workers: int | None, scheduler: str | None, argv: Sequence[str] | None) -> dict:
    import shlex

    from runs.provenance import environment

    fit = cal.stats("fit")
    env = environment(ROOT)
    return {
        "tool": "dealsim",
        "command": "calibrate",
        "command_line": " ".join(shlex.quote(a) for a in argv) if argv else None,
        "date": _now(),
        "calibration": {"file": _shown(cal.path), "sha256": cal.sha256},
        "targets": {"file": _shown(cal.targets.path), "sha256": cal.targets.sha256,
                    "fit_statistics": [{"name": s.name, "observed": s.observed, "sd": s.sd} for s in fit]},
        "scenario": {"file": _shown(cal.scenario_path), "name": cal.loaded.scenario.name,
                     "sha256": cal.loaded.sha256, "time_end": cal.end},
        "scale": scale,
        "seed_rule": "seed = first 63 bits of SHA-256 of repr(sorted((key, float(value)))) of the free parameters",
        "parameters": {k: {"prior": p.describe(), "low": p.low, "high": p.high, "reason": cal.reasons[k]}
                       for k, p in cal.parameters.items()},
        "abc": {"population_size": cal.population_size, "max_generations": cal.max_generations,
                "min_epsilon": cal.min_epsilon, "max_walltime_minutes": cal.max_walltime_minutes,
                "min_acceptance_rate": cal.min_acceptance_rate,
                "distance": "weighted Euclidean, each statistic divided by its target's sd; NaN -> infinite",
                "epsilon": "pyabc MedianEpsilon (adaptive; first from a calibration sample of the prior)",
                "transition": (f"pyabc MultivariateNormalTransition (Silverman bandwidth, scaling "
                               f"{cal.transition_scaling:g}), proposals drawn inside the prior box"),
                "transition_scaling": cal.transition_scaling, "acceptor": "uniform, finite distances only",
                "sampler": "dask" if scheduler else "multicore", "workers": None if scheduler else (workers or os.cpu_count()),
                "scheduler": scheduler, "pyabc": pyabc.__version__, "database": _shown(db),
                "run_id": int(state["run_id"])},
        "generations_run": len(gens),
        "epsilons": [g["epsilon"] for g in gens],
        "acceptance_rates": [g["acceptance_rate"] for g in gens],
        "generations": gens,
        "simulations": int(history.total_nr_simulations),
        "stop_reason": stop,
        "sessions": len(state.get("sessions", [])),
        "wall_time_s": float(state.get("elapsed_s", math.nan)),
        "package_version": env["dealsim_version"],
        "git_commit": env["git_commit"],
        "git_dirty": env["git_dirty"],
        "environment": env,
    }


def write_result(cal: Calibration, history: Any, prov: dict, post_path: Path, out_dir: Path) -> Posterior:
    """The last generation's particles -> post_path (CSV + JSON), and a copy of both in out_dir."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    values = np.column_stack([df[k].to_numpy(dtype=float) for k in cal.keys])
    weights = np.asarray(w, dtype=float)
    post = Posterior(keys=tuple(cal.keys), values=values, weights=weights / weights.sum(), provenance={})
    prov = dict(prov)
    prov["particles"] = len(post)
    prov["ess"] = post.ess()
    q05, q50, q95 = post.quantile(0.05), post.quantile(0.5), post.quantile(0.95)
    mean = post.mean()
    prov["posterior_summary"] = {k: {"mean": mean[k], "q05": q05[k], "median": q50[k], "q95": q95[k]} for k in cal.keys}
    prov["posterior_file"] = _shown(post_path)
    write_posterior(post_path, cal.keys, values, weights, prov)
    copy = out_dir / post_path.name
    if copy.resolve() != post_path.resolve():
        shutil.copyfile(post_path, copy)
        shutil.copyfile(post_path.with_suffix(".json"), copy.with_suffix(".json"))
    return Posterior(keys=post.keys, values=values, weights=post.weights, provenance=prov, path=post_path.resolve())
