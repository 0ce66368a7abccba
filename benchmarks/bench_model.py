"""Benchmark of dealsim: one full Wigan run, and the resident health rule vectorised vs one Mesa Agent each.

    python benchmarks/bench_model.py            # full: scale 1.0, 3 repeats  -> benchmarks/results.json, results.md
    python benchmarks/bench_model.py --quick    # smoke: scale 0.1, 1 repeat  -> benchmarks/results_quick.json, .md
    python benchmarks/bench_model.py --profile  # also cProfile one run (extra child) -> benchmarks/profile.txt

Part 1 runs `DealModel(scenario, seed, scale).run()` on scenarios/wigan.yaml in a fresh child process per repeat,
pinned to CPU 0 with single-threaded BLAS, so wall times are those of one core and peak RSS (ru_maxrss of the
child, imports included) is that of one run. Construction (population, agents, burn-in) and the recorded run
are timed separately; resident-steps/s = initial residents x months (burn-in included) / (construction + run).
Targets (issue): construction + run <= 5 s and peak RSS <= 600 MB, judged on the median at scale 1.0.

Part 2 runs the resident health rule alone for 24 months, in one pinned child:
  (a) vectorised: model/health.py's own rule (resident_month, levels; keyed uniform shocks) in one Numba loop over
      the columns of the full Wigan 2011 population from model.residents.build_population;
  (b) one mesa.Agent per resident holding u, prot, age, dep, sex (and its protection target), whose step()
      applies the same rule with Python `random.gauss` draws, run by model.agents.do("step"),
      on the first N residents of the same population (same starting state).
Agreement check: after 24 months, mean frailty and share in good health of (b) are within 0.01 of (a) on the
same N residents (different random draws, so they differ by sampling noise only; its standard error is reported).
N defaults to 100,000 (1.5 s per repeat): at 20,000 the noise SE of the mean-frailty difference is 0.0074, so a
0.01 tolerance would fail by chance about one seed in five.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = ROOT / "scenarios" / "wigan.yaml"
TARGET_TOTAL_S = 5.0
TARGET_PEAK_MB = 600.0
HEALTH_MONTHS = 24
TOLERANCE = 0.01
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ------------------------------------------------------------------------------------------ shared helpers
def _pin() -> None:
    try:
        os.sched_setaffinity(0, {0})
    except (AttributeError, OSError):  # not Linux, or CPU 0 not allowed
        pass


def _peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def _load_scenario():
    """The Wigan scenario from its file, or (before model.scenario exists) the schema defaults with the Deal on."""
    try:
        from model.scenario import load_scenario
    except ImportError:
        from model.parameters import Scenario
        return Scenario.model_validate({"deal": {"enabled": True}}), "model.parameters.Scenario (fallback)"
    return load_scenario(SCENARIO).scenario, str(SCENARIO.relative_to(ROOT))


def _child(args: list[str]) -> dict:
    """Run this script in a fresh pinned, single-threaded child and return the JSON it prints last."""
    env = dict(os.environ, **THREAD_ENV)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"child {' '.join(args)} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ part 1: full run
def child_run(scale: float, seed: int) -> dict:
    _pin()
    t0 = time.perf_counter()
    from model.model import DealModel  # noqa: F401  (imports timed separately from the model)
    scenario, source = _load_scenario()
    t1 = time.perf_counter()
    model = DealModel(scenario, seed=seed, scale=scale, base_dir=ROOT)
    t2 = time.perf_counter()
    model.run()
    t3 = time.perf_counter()
    from model.community import groups_of
    from model.staff import staff_of

    r = model.residents
    burn = scenario.time.burn_in_years
    months = model.months_total + 12 * burn
    residents0 = max(int(round(model.full_population * scale)), 50)  # as build_population sizes it
    return {
        "scenario": source, "scale": scale, "seed": seed,
        "import_and_load_s": t1 - t0, "construct_s": t2 - t1, "run_s": t3 - t2, "total_s": t3 - t1,
        "peak_rss_mb": _peak_rss_mb(),
        "residents_initial": residents0, "residents_alive_end": int(r.alive[: r.n].sum()), "resident_slots_end": r.n,
        "full_population": model.full_population,
        "months_recorded": model.months_total, "burn_in_years": burn, "months_simulated": months,
        "staff_end": len(staff_of(model)), "groups_end": len(groups_of(model)),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "model_source_sha256": model_source_hash(),
    }


def child_profile(scale: float, seed: int, out: Path, top: int = 25) -> dict:
    import cProfile
    import io
    import pstats
    _pin()
    from model.model import DealModel
    scenario, _ = _load_scenario()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    DealModel(scenario, seed=seed, scale=scale, base_dir=ROOT).run()
    prof.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(prof)
    total_tt = sum(v[2] for v in st.stats.values())
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in st.stats.items():
        rows.append({"function": f"{_short(file)}:{line}({func})", "calls": nc, "tottime_s": tt, "cumtime_s": ct})
    by_tt = sorted(rows, key=lambda x: -x["tottime_s"])[:top]
    by_ct = sorted((x for x in rows if x["function"].startswith("model/")), key=lambda x: -x["cumtime_s"])[:top]
    buf = io.StringIO()
    ps = pstats.Stats(prof, stream=buf)
    ps.sort_stats("tottime").print_stats(40)
    ps.sort_stats("cumulative").print_stats(60)
    out.write_text(f"cProfile of DealModel(scale={scale}, seed={seed}) construct+run: wall {wall:.2f} s under "
                   f"the profiler\n\n" + buf.getvalue())
    return {"scale": scale, "model_source_sha256": model_source_hash(), "wall_under_profiler_s": wall,
            "profiled_tottime_s": total_tt,
            "top_tottime": by_tt, "top_model_cumtime": by_ct, "file": str(out.relative_to(ROOT))}


def _short(file: str) -> str:
    p = file.replace(str(ROOT) + os.sep, "")
    if "site-packages" in p:
        p = p.split("site-packages" + os.sep, 1)[1]
    return p


# ------------------------------------------------------------------------------------------ part 2: health rule
def child_health(n_obj: int, repeats: int, seed: int) -> dict:
    _pin()
    import mesa
    import numpy as np
    from model import health as H
    from model.residents import build_population
    from model.social import equilibrium_connectedness

    from numba import njit

    from model.rng import Keys, u01

    scenario, _ = _load_scenario()
    hp = scenario.health
    keys = Keys(seed)
    base, _full, _places = build_population(scenario.population, scenario, 1.0, keys, ROOT)  # Wigan 2011, scale 1
    n = base.n
    base.connect[:n] = equilibrium_connectedness(scenario.social, base.eta[:n], base.dep[:n])
    base.trust[:n] = scenario.trust.base
    rng0 = np.random.default_rng(seed)
    base.volunteer[:n] = (base.age[:n] >= 16) & (rng0.random(n) < scenario.social.volunteer_share)
    k = H.constants(hp, scenario.social.connectedness_base, 0.0)
    # The protection target of each resident (no groups, no home care, no citizen lever): fixed over the months.
    target = (k.w_conn * (base.connect[:n] - k.c_ref) + k.w_vol * base.volunteer[:n]).astype(np.float64)
    base.prot[:n] = 0.0  # starts away from its target, so the relaxation is exercised
    u0 = base.u[:n].copy()

    @njit
    def months_of_health(n, k, key, u, prot, connect, volunteer, trust, age, dep, sex, month_keys, f_out, good_out):
        for km in month_keys:
            for i in range(n):
                u[i], prot[i] = H.resident_month(k, u[i], prot[i], connect[i], volunteer[i], False, False, trust[i],
                                                 0.0, u01(km, key[i]))
        for i in range(n):
            ex, gap, _need, _ch = H.levels(k, u[i], prot[i], age[i], dep[i], sex[i] == 1)
            f_out[i] = gap + (k.thr_m if sex[i] == 1 else k.thr_f)
            good_out[i] = gap < 0.0

    # (a) vectorised: the model's own rule (health.resident_month, health.levels) over the columns -----------
    def vectorised(rep_seed: int):
        r = base  # restore the same starting state each repeat
        r.u[:n] = u0
        r.prot[:n] = 0.0
        mk = np.array([Keys(rep_seed).month("health", "shock", m) for m in range(HEALTH_MONTHS)], np.uint64)
        f = np.empty(n)
        good = np.empty(n, np.bool_)
        t = time.perf_counter()
        months_of_health(n, k, r.key[:n], r.u[:n], r.prot[:n], r.connect[:n], r.volunteer[:n], r.trust[:n], r.age[:n],
                         r.dep[:n], r.sex[:n], mk, f, good)
        return time.perf_counter() - t, f, good

    months_of_health(10, k, base.key[:10], base.u[:10].copy(), base.prot[:10].copy(), base.connect[:10],
                     base.volunteer[:10], base.trust[:10], base.age[:10], base.dep[:10], base.sex[:10],
                     np.zeros(1, np.uint64), np.empty(10), np.empty(10, np.bool_))  # compile outside the timing
    vec_times = []
    for rep in range(repeats):
        secs, f_vec, good_vec = vectorised(seed + 1 + rep)
        vec_times.append(secs)

    # (b) one Mesa Agent per resident -----------------------------------------------------------------------
    rho, s = H.ar1(hp.persistence_months)

    class HealthModel(mesa.Model):
        def __init__(self, rng_seed: int):
            super().__init__(rng=rng_seed)
            self.rho, self.s = rho, s
            self.relax = 1.0 / hp.protection_months
            self.age_coef = hp.age_slope_per_decade / 10.0
            self.dep_eff = hp.deprivation_effect
            self.shift = 0.0
            self.thr_f, self.thr_m = hp.threshold_female, hp.threshold_male

    class Resident(mesa.Agent):
        def __init__(self, model, u, prot, age, dep, sex, target):
            super().__init__(model)
            self.u, self.prot, self.age, self.dep, self.sex, self.target = u, prot, age, dep, sex, target
            self.frailty = 0.0
            self.good = True

        def step(self):
            m = self.model
            self.u = m.rho * self.u + m.s * m.random.gauss(0.0, 1.0)
            self.prot += (self.target - self.prot) * m.relax
            f = self.age * m.age_coef + m.dep_eff * (self.dep - 0.5) + m.shift + self.u - self.prot
            self.frailty = f
            self.good = f < (m.thr_m if self.sex == 1 else m.thr_f)

    n_obj = min(n_obj, n)
    cols = [base.age[:n_obj].tolist(), base.dep[:n_obj].tolist(), base.sex[:n_obj].tolist(),
            target[:n_obj].tolist(), u0[:n_obj].tolist()]
    obj_build, obj_times = [], []
    for k in range(repeats):
        t = time.perf_counter()
        model = HealthModel(seed + 101 + k)
        for age, dep, sex, tg, u in zip(*cols):
            Resident(model, u, 0.0, age, dep, sex, tg)
        obj_build.append(time.perf_counter() - t)
        t = time.perf_counter()
        for _ in range(HEALTH_MONTHS):
            model.agents.do("step")
        obj_times.append(time.perf_counter() - t)
    agents = model.agents.to_list()  # creation order = resident index
    f_obj = np.array([a.frailty for a in agents])
    good_obj = np.array([a.good for a in agents])

    # agreement on the same residents ------------------------------------------------------------------------
    fa, ga = f_vec[:n_obj], good_vec[:n_obj]
    d_f = float(f_obj.mean() - fa.mean())
    d_g = float(good_obj.mean() - ga.mean())
    # sampling noise of the difference: only the innovations differ; u_24 | u_0 has SD sqrt(1 - rho^48)
    sd_innov = math.sqrt(1.0 - rho ** (2 * HEALTH_MONTHS))
    se_f = math.sqrt(2.0) * sd_innov / math.sqrt(n_obj)
    vec_rate = [n * HEALTH_MONTHS / x for x in vec_times]
    obj_rate = [n_obj * HEALTH_MONTHS / x for x in obj_times]
    return {
        "months": HEALTH_MONTHS,
        "vectorised": {
            "residents": n, "seconds_median": statistics.median(vec_times), "seconds_min": min(vec_times),
            "resident_steps_per_s_median": statistics.median(vec_rate), "resident_steps_per_s_max": max(vec_rate),
            "mean_frailty_all": float(f_vec.mean()), "good_health_share_all": float(good_vec.mean()),
            "mean_frailty_same_residents": float(fa.mean()), "good_health_share_same_residents": float(ga.mean()),
        },
        "object": {
            "agents": n_obj, "build_seconds_median": statistics.median(obj_build),
            "seconds_median": statistics.median(obj_times), "seconds_min": min(obj_times),
            "resident_steps_per_s_median": statistics.median(obj_rate), "resident_steps_per_s_max": max(obj_rate),
            "us_per_agent_step": statistics.median(obj_times) / (n_obj * HEALTH_MONTHS) * 1e6,
            "mean_frailty": float(f_obj.mean()), "good_health_share": float(good_obj.mean()),
        },
        "speedup_vectorised_over_object": statistics.median(vec_rate) / statistics.median(obj_rate),
        "agreement": {
            "tolerance": TOLERANCE, "diff_mean_frailty": d_f, "diff_good_health_share": d_g,
            "se_diff_mean_frailty": se_f,
            "pass": abs(d_f) <= TOLERANCE and abs(d_g) <= TOLERANCE,
        },
        "peak_rss_mb": _peak_rss_mb(),
        "repeats": repeats,
        "model_source_sha256": model_source_hash(),
    }


# ------------------------------------------------------------------------------------------ machine info
def model_source_hash() -> str:
    """SHA-256 (first 12 hex) of the model modules this process imported, and the scenario file.

    Each child reports it, so a benchmark that straddles an edit of the tree (others work on it meanwhile) shows."""
    import hashlib
    import model.model  # noqa: F401  (the same module set in every child)
    import model.scenario  # noqa: F401
    h = hashlib.sha256()
    files = sorted({Path(m.__file__) for m in list(sys.modules.values())
                    if getattr(m, "__file__", None) and Path(m.__file__).resolve().is_relative_to(ROOT / "model")})
    for p in files + [SCENARIO]:
        if p.exists():
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("numpy", "mesa", "scipy", "pydantic"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = None
    git = {}
    for key, cmd in (("head", ["git", "rev-parse", "--short", "HEAD"]),
                     ("dirty_paths", ["git", "status", "--porcelain"])):
        try:
            out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=20).stdout
            git[key] = out.strip() if key == "head" else len(out.splitlines())
        except (OSError, subprocess.SubprocessError):
            git[key] = None
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu, "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": mem_gb, "platform": platform.platform(),
        "python": platform.python_version(), **versions, "git": git,
    }


# ------------------------------------------------------------------------------------------ report
def summarise_runs(runs: list[dict], full_scale: bool) -> dict:
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    low = lambda k: min(r[k] for r in runs)  # noqa: E731
    r0 = runs[0]
    total_med, total_min = med("total_s"), low("total_s")
    steps = r0["residents_initial"] * r0["months_simulated"]
    out = {
        "scenario": r0["scenario"], "scale": r0["scale"], "repeats": len(runs),
        "construct_s": {"median": med("construct_s"), "min": low("construct_s")},
        "run_s": {"median": med("run_s"), "min": low("run_s")},
        "total_s": {"median": total_med, "min": total_min},
        "import_and_load_s": {"median": med("import_and_load_s")},
        "peak_rss_mb": {"median": med("peak_rss_mb"), "max": max(r["peak_rss_mb"] for r in runs)},
        "residents_initial": r0["residents_initial"], "residents_alive_end": r0["residents_alive_end"],
        "resident_slots_end": r0["resident_slots_end"],
        "months_recorded": r0["months_recorded"], "burn_in_years": r0["burn_in_years"],
        "months_simulated": r0["months_simulated"],
        "resident_steps": steps,
        "resident_steps_per_s": {"median": steps / total_med, "max": steps / total_min},
        "targets": {"total_s": TARGET_TOTAL_S, "peak_rss_mb": TARGET_PEAK_MB},
        "runs": runs,
    }
    if full_scale:
        out["pass_time"] = total_med <= TARGET_TOTAL_S
        out["pass_memory"] = out["peak_rss_mb"]["max"] <= TARGET_PEAK_MB
    else:
        out["pass_time"] = out["pass_memory"] = None  # targets are for scale 1.0
    return out


def verdict(ok) -> str:
    return "n/a (targets are for scale 1.0)" if ok is None else ("PASS" if ok else "FAIL")


def print_report(res: dict) -> None:
    m, f, h = res["machine"], res["full_run"], res["health_rule"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; python {m['python']}, numpy "
          f"{m['numpy']}, mesa {m['mesa']}; git {m['git'].get('head')} (+{m['git'].get('dirty_paths')} "
          f"uncommitted paths, model source {res['model_source_sha256']}); {m['date']}")
    print(f"\n1. full run: {f['scenario']}, scale {f['scale']}, {f['repeats']} repeat(s), one core")
    print(f"   residents {f['residents_initial']:,} initial ({f['residents_alive_end']:,} alive at end, "
          f"{f['resident_slots_end']:,} slots); months {f['months_simulated']} "
          f"({f['months_recorded']} recorded + {12 * f['burn_in_years']} burn-in)")
    for k, label in (("construct_s", "construction (init+burn-in)"), ("run_s", "run"), ("total_s", "total")):
        print(f"   {label:<28} median {f[k]['median']:7.2f} s   min {f[k]['min']:7.2f} s")
    print(f"   imports + scenario load       median {f['import_and_load_s']['median']:7.2f} s (not in total)")
    print(f"   peak RSS                      max {f['peak_rss_mb']['max']:7.0f} MB")
    print(f"   resident-steps/s              median {f['resident_steps_per_s']['median']:,.0f}  "
          f"best {f['resident_steps_per_s']['max']:,.0f}")
    print(f"   target total <= {TARGET_TOTAL_S:g} s: {verdict(f['pass_time'])}   "
          f"target peak <= {TARGET_PEAK_MB:g} MB: {verdict(f['pass_memory'])}")
    v, o, a = h["vectorised"], h["object"], h["agreement"]
    print(f"\n2. health rule alone, {h['months']} months, {h['repeats']} repeat(s), one core")
    print(f"   (a) vectorised (model/health.py), {v['residents']:,} residents: median {v['seconds_median']:.3f} s, "
          f"{v['resident_steps_per_s_median']:,.0f} resident-steps/s")
    print(f"   (b) mesa.Agent per resident, {o['agents']:,} agents: median {o['seconds_median']:.3f} s "
          f"(+{o['build_seconds_median']:.2f} s to create), {o['resident_steps_per_s_median']:,.0f} "
          f"resident-steps/s ({o['us_per_agent_step']:.2f} us per agent-step)")
    print(f"   ratio vectorised / object: {h['speedup_vectorised_over_object']:,.0f}x")
    print(f"   agreement on the same {o['agents']:,} residents: mean frailty {o['mean_frailty']:.4f} vs "
          f"{v['mean_frailty_same_residents']:.4f} (diff {a['diff_mean_frailty']:+.4f}, noise SE "
          f"{a['se_diff_mean_frailty']:.4f}); good health {o['good_health_share']:.4f} vs "
          f"{v['good_health_share_same_residents']:.4f} (diff {a['diff_good_health_share']:+.4f}); "
          f"|diff| <= {a['tolerance']}: {'PASS' if a['pass'] else 'FAIL'}")
    if "profile" in res:
        p = res["profile"]
        print(f"\n3. cProfile of one run (scale {p['scale']}): {p['wall_under_profiler_s']:.2f} s under the profiler; "
              f"top own time (full listing {p['file']}):")
        for row in p["top_tottime"][:12]:
            print(f"   {row['tottime_s']:7.2f} s {100 * row['tottime_s'] / p['profiled_tottime_s']:5.1f}%  "
                  f"{row['calls']:>9,} calls  {row['function']}")
        print("   model functions by cumulative time:")
        for row in p["top_model_cumtime"][:15]:
            print(f"   {row['cumtime_s']:7.2f} s {100 * row['cumtime_s'] / p['profiled_tottime_s']:5.1f}%  "
                  f"{row['calls']:>9,} calls  {row['function']}")


def markdown(res: dict) -> str:
    m, f, h = res["machine"], res["full_run"], res["health_rule"]
    v, o, a = h["vectorised"], h["object"], h["agreement"]
    lines = [
        f"# dealsim benchmark ({'quick' if res['quick'] else 'full'})",
        "",
        f"{m['date']} - {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB - Python {m['python']}, NumPy "
        f"{m['numpy']}, Mesa {m['mesa']} - git {m['git'].get('head')} with {m['git'].get('dirty_paths')} "
        f"uncommitted paths, model source sha256 {res['model_source_sha256']} - each measurement in a child process "
        "pinned to one core.",
        "",
        f"## Full run: {f['scenario']}, scale {f['scale']}, {f['repeats']} repeat(s)",
        "",
        "| measure | median | best |",
        "| --- | ---: | ---: |",
        f"| construction (init + burn-in), s | {f['construct_s']['median']:.2f} | {f['construct_s']['min']:.2f} |",
        f"| run, s | {f['run_s']['median']:.2f} | {f['run_s']['min']:.2f} |",
        f"| total, s (target <= {TARGET_TOTAL_S:g}: {verdict(f['pass_time'])}) | {f['total_s']['median']:.2f} | "
        f"{f['total_s']['min']:.2f} |",
        f"| peak RSS, MB (target <= {TARGET_PEAK_MB:g}: {verdict(f['pass_memory'])}) | "
        f"{f['peak_rss_mb']['median']:.0f} | max {f['peak_rss_mb']['max']:.0f} |",
        f"| residents (initial) | {f['residents_initial']:,} | |",
        f"| months simulated (incl. {12 * f['burn_in_years']} burn-in) | {f['months_simulated']} | |",
        f"| resident-steps/s | {f['resident_steps_per_s']['median']:,.0f} | {f['resident_steps_per_s']['max']:,.0f} |",
        "",
        f"## Health rule alone, {h['months']} months",
        "",
        "| implementation | residents | seconds (median) | resident-steps/s | mean frailty | good-health share |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| vectorised (model/health.py) | {v['residents']:,} | {v['seconds_median']:.3f} | "
        f"{v['resident_steps_per_s_median']:,.0f} | {v['mean_frailty_all']:.4f} | {v['good_health_share_all']:.4f} |",
        f"| vectorised, same residents as (b) | {o['agents']:,} | | | {v['mean_frailty_same_residents']:.4f} | "
        f"{v['good_health_share_same_residents']:.4f} |",
        f"| mesa.Agent per resident | {o['agents']:,} | {o['seconds_median']:.3f} | "
        f"{o['resident_steps_per_s_median']:,.0f} | {o['mean_frailty']:.4f} | {o['good_health_share']:.4f} |",
        "",
        f"Vectorised / object: **{h['speedup_vectorised_over_object']:,.0f}x**. Agreement within {a['tolerance']}: "
        f"**{'PASS' if a['pass'] else 'FAIL'}** (diff mean frailty {a['diff_mean_frailty']:+.4f}, noise SE "
        f"{a['se_diff_mean_frailty']:.4f}; diff good-health share {a['diff_good_health_share']:+.4f}).",
    ]
    if "profile" in res:
        p = res["profile"]
        lines += ["", f"## cProfile, one run at scale {p['scale']} ({p['wall_under_profiler_s']:.2f} s under the "
                  f"profiler; full listing `{p['file']}`)", "",
                  "| own time, s | share | calls | function |", "| ---: | ---: | ---: | --- |"]
        for row in p["top_tottime"][:12]:
            lines.append(f"| {row['tottime_s']:.2f} | {100 * row['tottime_s'] / p['profiled_tottime_s']:.1f}% | "
                         f"{row['calls']:,} | `{row['function']}` |")
        lines += ["", "| cumulative, s | share | calls | model function |", "| ---: | ---: | ---: | --- |"]
        for row in p["top_model_cumtime"][:15]:
            lines.append(f"| {row['cumtime_s']:.2f} | {100 * row['cumtime_s'] / p['profiled_tottime_s']:.1f}% | "
                         f"{row['calls']:,} | `{row['function']}` |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: scale 0.1, 1 repeat")
    ap.add_argument("--scale", type=float, help="model scale (default 1.0; 0.1 with --quick)")
    ap.add_argument("--repeats", type=int, help="runs of the full model (default 3; 1 with --quick)")
    ap.add_argument("--agents", type=int, help="residents in the one-Agent-each version (default 100,000, "
                                               "so the agreement check's noise SE is 0.0033, not 0.0074 at 20,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="also cProfile one run in its own child")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target or the agreement check fails")
    ap.add_argument("--out", type=Path, help="JSON file (default benchmarks/results.json, "
                                             "benchmarks/results_quick.json with --quick); .md written beside it")
    # internal: the children
    ap.add_argument("--child-run", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-health", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    scale = a.scale if a.scale is not None else (0.1 if a.quick else 1.0)
    repeats = a.repeats if a.repeats is not None else (1 if a.quick else 3)
    agents = a.agents if a.agents is not None else 100_000

    if a.child_run or a.child_health or a.child_profile:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        if a.child_run:
            out = child_run(scale, a.seed)
        elif a.child_health:
            out = child_health(agents, repeats, a.seed)
        else:
            out = child_profile(scale, a.seed, a.child_profile)
        print(json.dumps(out))
        return 0

    res: dict = {"quick": a.quick, "machine": machine_info()}
    print(f"dealsim benchmark ({'quick' if a.quick else 'full'}): scale {scale}, {repeats} repeat(s)", flush=True)
    runs = []
    for k in range(repeats):
        r = _child(["--child-run", "--scale", str(scale), "--seed", str(a.seed)])
        print(f"  run {k + 1}/{repeats}: construct {r['construct_s']:.2f} s, run {r['run_s']:.2f} s, "
              f"total {r['total_s']:.2f} s, peak {r['peak_rss_mb']:.0f} MB", flush=True)
        runs.append(r)
    res["full_run"] = summarise_runs(runs, full_scale=scale == 1.0)
    print(f"  health rule: vectorised vs {agents:,} mesa.Agents, {repeats} repeat(s) ...", flush=True)
    res["health_rule"] = _child(["--child-health", "--agents", str(agents), "--repeats", str(repeats),
                                 "--seed", str(a.seed)])
    if a.profile:
        prof_file = HERE / ("profile_quick.txt" if a.quick else "profile.txt")
        print("  profiling one run ...", flush=True)
        res["profile"] = _child(["--child-profile", str(prof_file), "--scale", str(scale), "--seed", str(a.seed)])
    hashes = sorted({r["model_source_sha256"] for r in runs} | {res["health_rule"]["model_source_sha256"]}
                    | ({res["profile"]["model_source_sha256"]} if "profile" in res else set()))
    res["model_source_sha256"] = hashes[0] if len(hashes) == 1 else hashes
    res["model_source_changed_during_benchmark"] = len(hashes) > 1
    print()
    print_report(res)
    if res["model_source_changed_during_benchmark"]:
        print("\nWARNING: model/*.py or the scenario changed while the benchmark ran; the figures mix versions.")
    out = a.out or HERE / ("results_quick.json" if a.quick else "results.json")
    out.write_text(json.dumps(res, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(res))
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} and .md")
    ok = res["full_run"]["pass_time"] is not False and res["full_run"]["pass_memory"] is not False
    return 0 if not a.strict or (ok and res["health_rule"]["agreement"]["pass"]) else 1


if __name__ == "__main__":
    sys.exit(main())
