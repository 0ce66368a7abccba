"""Tests of parameter sweeps and sensitivity analysis: sweep files, designs, engines, storage,
resuming after SIGKILL, failures, summary and SALib analysis.

Sweeps that run the model use --scale 0.01 (about 0.2 s a run); at that scale some HLE periods can be
missing from a run, which the sweep stores as null. Analysis tests use a synthetic runner (an analytic
function of the parameters) so indices can be checked against known values.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runs import executor
from sweep import design, engines, storage
from sweep.definition import OUTCOMES, TIMESERIES, SweepError, load_sweep
from sweep.runner import RunContext, execute

ROOT = Path(__file__).resolve().parents[1]
SIMULATE = ROOT / "simulate.py"
WIGAN = ROOT / "scenarios" / "wigan.yaml"

SMALL = f"""
name: small
scenario: {WIGAN}
parameters:
  deal.fidelity: [0.5, 1.0]
  deal.fund_gbp_m: {{levels: [0.0, 10.0]}}
replicates: 3
scale: 0.01
outputs:
  - hle_male@2017-19
  - care_home_admissions_65plus_per_100k@2017/18
  - good_health_share@final
retries: 1
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SIMULATE), *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, stdin=subprocess.DEVNULL)


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def dataset(folder: Path):
    return storage.SweepStore(folder).read()


# ---------------------------------------------------------------------------------------------
# Sweep files and designs
# ---------------------------------------------------------------------------------------------
def test_example_sweeps_are_valid():
    levers = load_sweep(ROOT / "sweeps" / "deal_levers.yaml")
    assert levers.method == "grid" and [p.key for p in levers.parameters] == ["deal.launch", "deal.fidelity", "deal.fund_gbp_m"]
    assert len(design.build_runs(levers)) == 3 * 4 * 4 * levers.replicates
    sobol = load_sweep(ROOT / "sweeps" / "mechanisms_sobol.yaml")
    assert sobol.method == "sobol"
    runs = design.build_runs(sobol)
    assert len(runs) == sobol.samples * (len(sobol.parameters) + 2) * sobol.replicates
    assert len({r.run_id for r in runs}) == len(runs) and len({r.seed for r in runs}) == len(runs)
    assert levers.scale == sobol.scale == 0.05  # the scale the overhead benchmark is checked at


def test_output_lists_match_the_model():
    """The names a sweep file may ask for are those the model produces (so the lists cannot drift)."""
    from model.model import DealModel
    from model.scenario import load_scenario

    loaded = load_scenario(WIGAN)
    m = DealModel(loaded.scenario, seed=3, scale=0.01, base_dir=loaded.path.parent).run()
    assert set(m.outcomes()) == set(OUTCOMES)
    assert set(m.timeseries()) - {"month"} == set(TIMESERIES)


def test_run_ids_and_seeds_depend_only_on_parameters_and_replicate(tmp_path):
    d = load_sweep(write(tmp_path, "s.yaml", SMALL))
    runs = design.build_runs(d)
    assert len(runs) == 12
    for r in runs:
        assert r.run_id == design.run_id(dict(reversed(r.params)), r.replicate)  # key order does not matter
        assert r.seed == design.seed_of(r.run_id) and 0 <= r.seed < 2**63
    # The same point in another sweep (other levels, other order) has the same id and seed.
    other = load_sweep(write(tmp_path, "o.yaml", SMALL.replace("[0.5, 1.0]", "[1.0, 0.25, 0.5]")))
    ids = {(r.params, r.replicate): r.run_id for r in design.build_runs(other)}
    assert all(ids[r.params, r.replicate] == r.run_id for r in runs if (r.params, r.replicate) in ids)
    # Shards are disjoint and together the whole sweep, for any split.
    for n in (1, 2, 5, 13):
        parts = [design.shard(runs, i, n) for i in range(1, n + 1)]
        ids_ = [r.run_id for part in parts for r in part]
        assert sorted(ids_) == sorted(r.run_id for r in runs) and len(set(ids_)) == len(ids_)


def test_designs(tmp_path):
    base = f"scenario: {WIGAN}\nreplicates: 1\nscale: 0.01\noutputs: [hle_male@2017-19]\n"
    lhs = load_sweep(write(tmp_path, "l.yaml", base + "parameters:\n  deal.fidelity: {range: [0.2, 1.0]}\n"
                           "  community.min_volunteers: {range: [1, 9]}\ndesign: {method: lhs, samples: 20, seed: 4}\n"))
    pts = design.points(lhs)
    assert len(pts) == 20
    assert all(0.2 <= p["deal.fidelity"] <= 1.0 and isinstance(p["community.min_volunteers"], int) for p in pts)
    # Latin hypercube: one point in each of the 20 strata of each parameter.
    strata = sorted(int((p["deal.fidelity"] - 0.2) / 0.8 * 20) for p in pts)
    assert strata == list(range(20))
    assert design.points(lhs) == pts  # deterministic
    grid = load_sweep(write(tmp_path, "g.yaml", base + "parameters:\n  deal.fidelity: {range: [0, 1], n: 5}\n"))
    assert [p["deal.fidelity"] for p in design.points(grid)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    morris = load_sweep(write(tmp_path, "m.yaml", base + "parameters:\n  deal.fidelity: {range: [0, 1]}\n"
                              "  deal.fund_gbp_m: {range: [0, 20]}\ndesign: {method: morris, samples: 5}\n"))
    assert len(design.points(morris)) == 5 * 3


BAD = [
    ("sweep: x\n", "sweep", 1, "unknown key 'sweep'"),
    (SMALL.replace("outputs:", "outputz:"), "outputz", 8, "did you mean 'outputs'?"),
    (SMALL.replace("scale: 0.01", "scale: 2"), "scale", 7, "at most 1"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.fidelity: [0.5, 1.5]"), "parameters.deal.fidelity", 4, "must be at most 1"),
    (SMALL.replace("deal.fidelity:", "deal.fidelty:"), "parameters.deal.fidelty", 4, "unknown parameter 'fidelty'"),
    (SMALL.replace("deal.fidelity:", "deal:"), "parameters.deal", 4, "is a section"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.fidelity: ['high', 1.0]"), "parameters.deal.fidelity", 4, "expected a number"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.fidelity: [0.5, 0.5]"), "parameters.deal.fidelity", 4, "given twice"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.enabled: {range: [0, 1]}"), "parameters.deal.enabled.range", 4, "needs a number parameter"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.fidelity: {range: [0.9, 0.1]}"), "parameters.deal.fidelity.range", 4, "low must be below high"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "community.grant_taper: [[1.0]]"), "parameters.community.grant_taper", 4, "cannot be swept"),
    (SMALL.replace("- hle_male@2017-19", "- hle_mal@2017-19"), "outputs[0]", 9, "did you mean 'hle_male'"),
    (SMALL.replace("- hle_male@2017-19", "- hle_male@2017"), "outputs[0]", 9, "YYYY-YY"),
    (SMALL.replace("- hle_male@2017-19", "- hle_male@2030-32"), "outputs[0]", 9, "2023-25"),
    (SMALL.replace("- good_health_share@final", "- good_health@final"), "outputs[2]", 11, "not a monthly column"),
    (SMALL.replace("- hle_male@2017-19", "- hle_male"), "outputs[0]", 9, "NAME@PERIOD"),
    (SMALL + "design: {method: sobol, samples: 64}\n", "parameters.deal.fidelity", 4, "samples each parameter from a range"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.fidelity: {range: [0, 1]}").replace(
        "deal.fund_gbp_m: {levels: [0.0, 10.0]}", "deal.fund_gbp_m: {range: [0, 9]}") + "design: {method: sobol, samples: 48}\n",
     "design.samples", 13, "power of 2"),
    (SMALL + "design: {method: factorial}\n", "design.method", 13, "expected one of grid, lhs, sobol, morris"),
    (SMALL.replace(f"scenario: {WIGAN}", "scenario: nowhere.yaml"), "scenario", 2, "not found"),
    (SMALL.replace("replicates: 3", "replicates: 3\nreplicates: 4"), "replicates", 7, "duplicate key"),
    (SMALL.replace("replicates: 3", "replicates: !!python/object:os.system 3"), "replicates", 6, "unsafe"),
    (SMALL.replace("replicates: 3", "replicates: 2.5"), "replicates", 6, "whole number"),
    (SMALL.replace("outputs:", "outputs: [").replace("  - ", "  ") , "", None, "invalid YAML"),
    (SMALL + "set:\n  deal.enabled: maybe\n", "set.deal.enabled", 14, "true or false"),
    ("", "", 1, "empty"),
    (SMALL + "design: {method: grid, samples: 4}\n", "design.samples", 13, "unknown key 'samples' for a grid design"),
    (SMALL + "design: {method: lhs}\n", "design", 13, "needs 'samples'"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.fidelity: {range: [0.1]}"), "parameters.deal.fidelity.range", 4, "at least 2"),
    (SMALL.replace("deal.fidelity: [0.5, 1.0]", "deal.fidelity: {levels: [0.5], n: 3}"), "parameters.deal.fidelity", 4, "'n' goes with 'range'"),
    (SMALL.replace("replicates: 3", "replicates: '3'"), "replicates", 6, "remove the quotes"),
    (SMALL + "design: {method: morris, samples: 4, levels: 3}\n", "design.levels", 13, "even"),
]


@pytest.mark.parametrize("text,key,line,words", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_malformed_sweep_files_are_refused(tmp_path, text, key, words, line):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(SweepError) as info:
        load_sweep(path)
    err = info.value
    assert words in str(err)
    assert err.file == str(path)
    if key:
        assert err.key == key
    if line is not None:
        assert err.line == line, str(err)
    assert "\n" not in str(err)


def test_malformed_sweep_file_on_the_command_line(tmp_path):
    path = write(tmp_path, "bad.yaml", SMALL.replace("scale: 0.01", "scale: 0"))
    p = cli("sweep", path, "--out", tmp_path / "out", "--shard", "1/2")
    assert p.returncode == 2
    assert p.stderr.startswith("error: ") and p.stderr.count("\n") == 1
    assert f"{path}:7: scale: must be more than 0 (got 0)" in p.stderr
    assert not (tmp_path / "out").exists()
    p = cli("sweep", path, "--shard", "3/2")
    assert p.returncode == 2 and "I must be from 1 to N" in p.stderr
    p = cli("sweep", path, "--workers", "2", "--shard", "1/2")
    assert p.returncode == 2 and "cannot be used together" in p.stderr


# ---------------------------------------------------------------------------------------------
# Engines give the same dataset; resuming after SIGKILL
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    """The small sweep (12 runs at scale 0.01) run once uninterrupted with 1 local Dask worker."""
    folder = tmp_path_factory.mktemp("sweeps")
    path = write(folder, "small.yaml", SMALL)
    ok(cli("sweep", path, "--out", folder / "one", "--workers", "1", "-q"))
    return path, folder / "one"


def test_uninterrupted_sweep_stores_every_run(small):
    path, one = small
    t = dataset(one)
    d = load_sweep(path)
    runs = design.build_runs(d)
    assert t.num_rows == 12 and t.column("run_id").to_pylist() == sorted(r.run_id for r in runs)
    assert set(t.column("status").to_pylist()) == {"ok"}
    by_id = {r.run_id: r for r in runs}
    for row in t.to_pylist():
        r = by_id[row["run_id"]]
        assert row["seed"] == r.seed and row["replicate"] == r.replicate
        assert row["deal.fidelity"] == r.overrides["deal.fidelity"]
        assert row["good_health_share@final"] is not None and 0 < row["good_health_share@final"] < 1
    m = json.loads((one / "manifest.json").read_text())
    assert m["definition_sha256"] == d.sha256 and m["runs"] == 12
    assert m["base_scenario"]["sha256"] == d.base.sha256 and m["created"]["command"] == "sweep"
    # One run of the dataset equals the model called directly with that run's seed.
    from model.model import DealModel
    from model.scenario import apply_overrides

    r = runs[5]
    loaded = apply_overrides(d.base, r.overrides)
    model = DealModel(loaded.scenario, seed=r.seed, scale=0.01, base_dir=loaded.path.parent).run()
    row = next(x for x in t.to_pylist() if x["run_id"] == r.run_id)
    assert row["good_health_share@final"] == float(model.timeseries()["good_health_share"][-1])
    assert row["hle_male@2017-19"] == model.outcomes()["hle_male"].get("2017-19")


def test_two_workers_give_the_same_dataset(small, tmp_path):
    path, one = small
    ok(cli("sweep", path, "--out", tmp_path / "two", "--workers", "2", "-q"))
    assert dataset(tmp_path / "two").equals(dataset(one))


def test_shards_together_equal_the_whole(small, tmp_path):
    path, one = small
    out = tmp_path / "sharded"
    for i in (1, 2, 3):
        ok(cli("sweep", path, "--out", out, "--shard", f"{i}/3", "-q"))
        if i == 1:
            assert dataset(out).num_rows == 4
    assert dataset(out).equals(dataset(one))
    # Running a shard again does nothing: its runs are stored.
    p = ok(cli("sweep", path, "--out", out, "--shard", "2/3"))
    assert "0 runs now" in p.stdout and "4 already stored" in p.stdout


def test_sigkill_then_resume_gives_the_uninterrupted_dataset(small, tmp_path):
    path, one = small
    out = tmp_path / "killed"
    cmd = [sys.executable, str(SIMULATE), "sweep", str(path), "--out", str(out), "--workers", "1", "--batch", "1", "-q"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    stored = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            stored = len(list((out / "runs").glob("part-*.parquet"))) if (out / "runs").is_dir() else 0
            if stored >= 3:
                break
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its Dask workers, as when a node dies
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = dataset(out).num_rows
    assert 3 <= before < 12, "the kill should land part-way"
    p = ok(cli("sweep", path, "--out", out, "--workers", "1"))
    assert f"{before} already stored" in p.stdout
    assert dataset(out).equals(dataset(one))
    assert not [f for f in (out / "runs").iterdir() if f.name.startswith(".")]


def test_another_sweep_in_the_same_folder_is_refused(small, tmp_path):
    path, one = small
    other = write(tmp_path, "other.yaml", SMALL.replace("replicates: 3", "replicates: 2"))
    p = cli("sweep", other, "--out", one, "--shard", "1/1")
    assert p.returncode == 2 and "holds another sweep" in p.stderr
    notsweep = tmp_path / "notsweep"
    notsweep.mkdir()
    (notsweep / "keep.txt").write_text("x")
    p = cli("sweep", other, "--out", notsweep, "--shard", "1/1")
    assert p.returncode == 2 and "not a sweep folder" in p.stderr and (notsweep / "keep.txt").exists()


def test_sweep_results_summary_and_csv(small, tmp_path):
    path, one = small
    p = ok(cli("sweep-results", one, "--csv", tmp_path / "runs.csv", "--levels-csv", tmp_path / "levels.csv"))
    assert "12 done, 0 failed, 0 remaining" in p.stdout
    assert "deal.fund_gbp_m" in p.stdout
    lines = (tmp_path / "runs.csv").read_text().splitlines()
    assert len(lines) == 13 and lines[0].startswith("run_id,point,replicate,seed,deal.fidelity,deal.fund_gbp_m,status")
    levels = (tmp_path / "levels.csv").read_text().splitlines()
    assert levels[0] == "parameter,level,output,n,median,q05,q95" and len(levels) == 1 + 4 * 3


# ---------------------------------------------------------------------------------------------
# Failures and retries
# ---------------------------------------------------------------------------------------------
def _flaky_runner(marker_dir: str):
    """A runner that always fails for (fidelity 0.5, fund 0, replicate 0) and fails once for replicate 1."""

    def run(ctx, r):
        import os as _os

        p = dict(r.params)
        if p["deal.fidelity"] == 0.5 and p["deal.fund_gbp_m"] == 0.0:
            if r.replicate == 0:
                raise RuntimeError("boom: this run always fails")
            if r.replicate == 1:
                marker = _os.path.join(marker_dir, r.run_id)
                if not _os.path.exists(marker):
                    open(marker, "w").close()
                    raise RuntimeError("flaky: fails the first time")
        return {o.column: p["deal.fidelity"] * 10 + p["deal.fund_gbp_m"] + r.replicate for o in ctx.outputs}

    return run


def _open_store(defn, folder: Path) -> storage.SweepStore:
    store = storage.SweepStore(folder)
    store.open({"definition_sha256": defn.sha256, "definition": defn.record(), "runs": len(design.build_runs(defn))})
    store.write_design(design.points(defn))
    return store


@pytest.mark.parametrize("engine", ["serial", "dask"])
def test_failing_run_is_retried_then_recorded_and_the_sweep_goes_on(tmp_path, engine):
    defn = load_sweep(write(tmp_path, "s.yaml", SMALL))
    store = _open_store(defn, tmp_path / "out")
    runs = design.build_runs(defn)
    ctx = RunContext(defn.base, defn.scale, defn.outputs, retries=2)
    runner = _flaky_runner(str(tmp_path))
    sink = engines.Sink(store, batch=5)
    if engine == "serial":
        engines.run_serial(ctx, runs, sink, runner=runner)
    else:
        client, cluster = executor.local_cluster(2)
        try:
            engines.run_dask(client, ctx, runs, sink, runner=runner)
        finally:
            client.close()
            cluster.close()
    t = {r["run_id"]: r for r in store.read().to_pylist()}
    assert len(t) == 12 and sink.ok == 11 and sink.failed == 1
    bad = [r for r in t.values() if r["status"] == "failed"]
    assert len(bad) == 1 and bad[0]["attempts"] == 3 and bad[0]["replicate"] == 0
    assert "RuntimeError: boom: this run always fails" in bad[0]["error"] and "Traceback" in bad[0]["error"]
    assert all(v is None for k, v in bad[0].items() if "@" in k)
    flaky = next(r for r in t.values() if r["deal.fidelity"] == 0.5 and r["deal.fund_gbp_m"] == 0.0 and r["replicate"] == 1)
    assert flaky["status"] == "ok" and flaky["attempts"] == 2
    assert sum(r["attempts"] for r in t.values()) == 12 + 2 + 1
    # Stored failures are skipped on a plain re-run, tried again with --retry-failed; a success then wins.
    assert store.stored(include_failed=False) == set(t) - {bad[0]["run_id"]}
    again = [r for r in runs if r.run_id not in store.stored(include_failed=False)]
    engines.run_serial(ctx, again, engines.Sink(store), runner=lambda c, r: {o.column: 1.0 for o in c.outputs})
    t2 = store.read().to_pylist()
    assert len(t2) == 12 and all(r["status"] == "ok" for r in t2)


def test_execute_never_raises(tmp_path):
    defn = load_sweep(write(tmp_path, "s.yaml", SMALL))
    ctx = RunContext(defn.base, defn.scale, defn.outputs, retries=0)

    def bad(c, r):
        raise ValueError("x")

    rec = execute(ctx, design.build_runs(defn)[0], bad)
    assert rec["status"] == "failed" and rec["attempts"] == 1 and "ValueError: x" in rec["error"]


# ---------------------------------------------------------------------------------------------
# Sensitivity analysis
# ---------------------------------------------------------------------------------------------
SA = f"""
name: sa
scenario: {WIGAN}
parameters:
  deal.fidelity: {{range: [0.0, 1.0]}}
  deal.fund_gbp_m: {{range: [0.0, 1.0]}}
  staff.imitation_rate: {{range: [0.0, 1.0]}}
replicates: 2
scale: 0.01
outputs: [hle_male@2017-19, good_health_share@final]
"""


def _linear(ctx, r):
    """y = 4 x1 + x2 (x3 inert) plus replicate noise that averages out; the second output is missing for one row."""
    p = dict(r.params)
    y = 4 * p["deal.fidelity"] + p["deal.fund_gbp_m"] + (0.001 if r.replicate else -0.001)
    return {"hle_male@2017-19": y, "good_health_share@final": None if p["deal.fidelity"] > 0.99 else y}


def _run_synthetic(tmp_path: Path, method: str, samples: int) -> Path:
    defn = load_sweep(write(tmp_path, f"{method}.yaml", SA + f"design: {{method: {method}, samples: {samples}, seed: 1}}\n"))
    out = tmp_path / method
    store = _open_store(defn, out)
    ctx = RunContext(defn.base, defn.scale, defn.outputs, retries=0)
    engines.run_serial(ctx, design.build_runs(defn), engines.Sink(store, batch=50), runner=_linear)
    return out


def test_sobol_indices_of_a_known_function(tmp_path):
    from sweep.sensitivity import analyse

    out = _run_synthetic(tmp_path, "sobol", 256)
    res = analyse(storage.SweepStore(out), seed=0)
    ix = res["outputs"]["hle_male@2017-19"]["indices"]
    # Var(4 x1) = 16/12, Var(x2) = 1/12: S1 = 16/17 and 1/17; x3 has no effect.
    assert ix["deal.fidelity"]["S1"] == pytest.approx(16 / 17, abs=0.08)
    assert ix["deal.fund_gbp_m"]["S1"] == pytest.approx(1 / 17, abs=0.03)
    assert abs(ix["staff.imitation_rate"]["ST"]) < 0.01
    assert ix["deal.fidelity"]["S1_conf"] > 0
    skipped = res["outputs"]["good_health_share@final"]  # missing for the rows with fidelity above 0.99
    assert "indices" not in skipped and "design rows have no value" in skipped["skipped"]


def test_morris_effects_of_a_known_function(tmp_path):
    from sweep.sensitivity import analyse

    out = _run_synthetic(tmp_path, "morris", 10)
    ix = analyse(storage.SweepStore(out), ["hle_male@2017-19"], seed=0)["outputs"]["hle_male@2017-19"]["indices"]
    assert ix["deal.fidelity"]["mu_star"] == pytest.approx(4.0, rel=0.01)
    assert ix["deal.fund_gbp_m"]["mu_star"] == pytest.approx(1.0, rel=0.01)
    assert ix["staff.imitation_rate"]["mu_star"] == pytest.approx(0.0, abs=1e-9)


def test_sensitivity_command(tmp_path, small):
    out = _run_synthetic(tmp_path, "sobol", 64)
    p = ok(cli("sensitivity", out, "--resamples", "100"))
    assert "Sobol indices" in p.stdout and "deal.fidelity" in p.stdout
    res = out / "sensitivity"
    assert {f.name for f in res.iterdir()} == {"sensitivity.json", "sensitivity.csv", "sobol.png", "provenance.json"}
    assert (res / "sobol.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (res / "sensitivity.csv").read_text().splitlines()
    assert rows[0] == "output,parameter,S1,S1_conf,ST,ST_conf"
    ok(cli("sensitivity", out, "--resamples", "100", "-q"))  # replaces its own earlier analysis
    # A grid sweep is refused with one line.
    p = cli("sensitivity", small[1])
    assert p.returncode == 2 and "cannot be analysed for sensitivity" in p.stderr


def test_cluster_job_script(tmp_path):
    path = write(tmp_path, "s.yaml", SMALL)
    p = ok(cli("sweep", path, "--cluster", "slurm", "--queue", "short", "--cores", "4", "--memory", "8GB",
               "--walltime", "00:30:00", "--job-extra=--qos=short", "--print-job-script"))
    assert "#SBATCH -p short" in p.stdout and "#SBATCH --cpus-per-task=4" in p.stdout and "--qos=short" in p.stdout
    assert "--nthreads 1" in p.stdout and "--nworkers 4" in p.stdout and str(ROOT) in p.stdout
    p = ok(cli("sweep", path, "--cluster", "pbs", "--walltime", "02:00:00", "--print-job-script"))
    assert "#PBS -l walltime=02:00:00" in p.stdout
    p = cli("sweep", path, "--cluster", "slurm", "--memory", "lots")
    assert p.returncode == 2 and "--memory" in p.stderr


def test_design_points_are_checked_together(tmp_path):
    text = SMALL.replace("deal.fidelity: [0.5, 1.0]", 'deal.pilot_start: ["2010-01", "2013-01"]').replace(
        "deal.fund_gbp_m: {levels: [0.0, 10.0]}", 'deal.launch: ["2012-01", "2014-01"]')
    d = load_sweep(write(tmp_path, "s.yaml", text))  # each level is valid alone (pilot 2012-01, launch 2014-01)
    with pytest.raises(SweepError) as info:
        design.check_points(d, design.points(d))
    assert "design point 2 (deal.pilot_start='2013-01', deal.launch='2012-01')" in str(info.value)
    assert "launch is before pilot_start" in str(info.value)
    p = cli("sweep", tmp_path / "s.yaml", "--out", tmp_path / "out", "--shard", "1/1")
    assert p.returncode == 2 and "launch is before pilot_start" in p.stderr and not (tmp_path / "out").exists()


def test_shards_may_create_the_folder_at_the_same_time(tmp_path):
    d = load_sweep(write(tmp_path, "s.yaml", SMALL))
    manifest = {"definition_sha256": d.sha256, "definition": d.record(), "runs": 12}
    out = tmp_path / "out"
    out.mkdir()
    (out / storage.RUNS).mkdir()  # another shard is half-way through creating it
    (out / ".manifest.json.tmp-host-1").write_text("{}")
    assert storage.SweepStore(out).open(manifest) is False
    assert storage.SweepStore(out).open(manifest) is True
