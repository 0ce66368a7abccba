"""Tests of the command line (simulate.py): result files, reproducibility, comparison, checks, bad input.

Every command runs as a user would run it, in a subprocess, at --scale 0.02 (a second or two a run).
Nothing here fixes a model output: values are compared with the model's own (run in this process) or
between runs, never with numbers written down, because the parameters are still being tuned.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SIMULATE = ROOT / "simulate.py"
SCENARIOS = ROOT / "scenarios"
WIGAN = SCENARIOS / "wigan.yaml"
NO_DEAL = SCENARIOS / "wigan_no_deal.yaml"
SCALE = "0.02"
SEED = 1
PNG = b"\x89PNG\r\n\x1a\n"


def cli(*args: object, cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SIMULATE), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout, stdin=subprocess.DEVNULL)


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def leftovers(folder: Path, name: str) -> list[str]:
    """The folder and any temporary sibling of it (``name.tmp-<pid>``, ``name.old-<pid>``)."""
    return sorted(p.name for p in folder.iterdir() if p.name == name or p.name.startswith(name + "."))


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


# ---------------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("run") / "wigan"
    p = ok(cli("run", WIGAN, "--seed", SEED, "--scale", SCALE, "--out", out))
    return out, p


@pytest.fixture(scope="module")
def model_run():
    """The same run in this process, to check the files against the model's own output."""
    from model.model import DealModel
    from model.scenario import load_scenario

    loaded = load_scenario(WIGAN)
    m = DealModel(loaded.scenario, seed=SEED, scale=float(SCALE), base_dir=loaded.path.parent)
    m.run()
    return loaded, m


def test_run_writes_every_file(run_dir):
    out, p = run_dir
    names = {f.name for f in out.iterdir()}
    assert {"timeseries.csv", "timeseries.parquet", "outcomes.json", "provenance.json", "scenario.yaml",
            "monthly.png", "outcomes.png"} <= names
    for png in ("monthly.png", "outcomes.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000
    assert not [n for n in os.listdir(out.parent) if ".tmp-" in n or ".old-" in n]
    # The summary table (not --quiet) names the outcomes and the folder.
    assert "HLE male" in p.stdout and "results:" in p.stdout


def test_run_timeseries_has_every_column_and_a_row_per_month(run_dir, model_run):
    out, _ = run_dir
    _, m = model_run
    ts = m.timeseries()
    header, rows = read_csv(out / "timeseries.csv")
    assert header == list(ts)
    assert len(rows) == m.months_total == len(ts["month"])
    assert [r[0] for r in rows] == list(ts["month"])
    months = [r[0] for r in rows]
    assert months == sorted(months) and len(set(months)) == len(months)
    for j, name in enumerate(header[1:], start=1):  # exactly the model's values (floats written exactly)
        col = [float(r[j]) if r[j] else math.nan for r in rows]
        np.testing.assert_array_equal(np.asarray(col), np.asarray(ts[name], dtype=float), err_msg=name)

    import pyarrow.parquet as pq

    table = pq.read_table(out / "timeseries.parquet")
    assert table.column_names == header and table.num_rows == len(rows)
    assert table.column("month").to_pylist() == months
    np.testing.assert_array_equal(table.column(header[1]).to_numpy(), np.asarray(ts[header[1]], dtype=float))


def test_run_outcomes_are_the_models(run_dir, model_run):
    out, _ = run_dir
    _, m = model_run
    assert json.loads((out / "outcomes.json").read_text()) == json.loads(json.dumps(m.outcomes()))


def test_run_provenance(run_dir, model_run):
    out, _ = run_dir
    loaded, _ = model_run
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == SEED and prov["scale"] == float(SCALE)
    assert prov["scenario"]["sha256"] == loaded.sha256
    assert prov["scenario"]["resolved"] == loaded.resolved
    for key in ("git_commit", "git_dirty", "dealsim_version", "python", "numpy", "mesa", "command_line",
                "started_at", "wall_time_s"):
        assert key in prov, key
    assert prov["git_commit"] is None or len(prov["git_commit"]) == 40  # null outside a git checkout
    assert prov["dealsim_version"] and prov["wall_time_s"] > 0
    assert "--seed" in prov["argv"] and str(SEED) in prov["argv"]


def test_same_seed_gives_byte_identical_results(run_dir, tmp_path):
    out, _ = run_dir
    # Second run uses the default folder name (results/<name>_seed<N>_<timestamp>) under another cwd.
    p = ok(cli("run", WIGAN, "--seed", SEED, "--scale", SCALE, "--quiet", cwd=tmp_path))
    assert p.stdout == ""
    made = list((tmp_path / "results").iterdir())
    assert len(made) == 1 and made[0].name.startswith(f"wigan_seed{SEED}_")
    for name in ("timeseries.csv", "outcomes.json"):
        assert (made[0] / name).read_bytes() == (out / name).read_bytes(), name


def test_force_replaces_a_result_folder(run_dir, tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / "provenance.json").write_text("{}")
    ok(cli("run", WIGAN, "--seed", SEED, "--scale", SCALE, "--out", out, "--force", "--quiet"))
    assert (out / "timeseries.csv").read_bytes() == (run_dir[0] / "timeseries.csv").read_bytes()
    assert leftovers(tmp_path, "again") == ["again"]


# ---------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compare_dirs(tmp_path_factory) -> dict[int, tuple[Path, subprocess.CompletedProcess]]:
    base = tmp_path_factory.mktemp("compare")
    out = {}
    for workers in (2, 1):
        d = base / f"w{workers}"
        out[workers] = (d, ok(cli("compare", WIGAN, NO_DEAL, "--seeds", 2, "--scale", SCALE,
                                  "--workers", workers, "--out", d)))
    return out


def test_compare_writes_differences_figures_and_table(compare_dirs):
    out, p = compare_dirs[2]
    for name in ("differences.json", "outcomes_by_seed.json", "summary.csv", "provenance.json",
                 "timeseries_by_seed.parquet", "scenario_a.yaml", "scenario_b.yaml"):
        assert (out / name).is_file(), name
    for png in ("fan_outcomes.png", "fan_monthly.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000
    # Terminal table: outcome, period, both medians, the difference with its interval.
    for text in ("HLE male", "HLE female", "care-home adm.", "A med.", "B med.",
                 "A - B", "2017/18"):
        assert text in p.stdout, text
    # The levels are the model's for Wigan's context alone (the calibration's area term is not in them): said.
    assert "Wigan's own level beside them" in " ".join(p.stdout.split())

    diffs = json.loads((out / "differences.json").read_text())
    by_seed = json.loads((out / "outcomes_by_seed.json").read_text())["outcomes"]
    assert diffs["seeds"] == [0, 1]
    for name in ("hle_male", "hle_female", "care_home_admissions_65plus_per_100k", "delayed_transfers_per_100k",
                 "still_at_home_91d_pct", "care_quality_good_or_outstanding", "cumulative_savings_gbp_m", "workforce"):
        periods = diffs["outcomes"][name]
        assert periods, name
        for period, d in periods.items():
            for arm in ("a", "b"):
                assert set(d[arm]) >= {"median", "q05", "q95"}
            assert set(d["diff"]["by_seed"]) == {"0", "1"}
            for s in ("0", "1"):
                expect = by_seed["a"][s][name][period] - by_seed["b"][s][name][period]
                assert d["diff"]["by_seed"][s] == pytest.approx(expect, abs=1e-6)
            assert d["diff"]["q05"] <= d["diff"]["median"] <= d["diff"]["q95"]
    header, rows = read_csv(out / "summary.csv")
    assert header[:2] == ["outcome", "period"] and "diff_median" in header
    assert len(rows) == sum(len(v) for v in diffs["outcomes"].values())
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seeds"] == [0, 1]
    assert prov["scenario_a"]["sha256"] != prov["scenario_b"]["sha256"]
    assert "git_commit" in prov


def test_compare_does_not_depend_on_workers(compare_dirs):
    (d2, _), (d1, _) = compare_dirs[2], compare_dirs[1]
    for name in ("differences.json", "outcomes_by_seed.json", "summary.csv"):
        assert (d1 / name).read_bytes() == (d2 / name).read_bytes(), name


def test_compare_over_posterior_draws(tmp_path):
    """--posterior: run i uses seed i and the i-th draw in both arms; the draws are recorded and change results."""
    post = tmp_path / "post.csv"
    post.write_text("weight,health.w_self_help\n0.5,-0.3\n0.5,0.3\n")
    out = tmp_path / "cmp"
    ok(cli("compare", WIGAN, NO_DEAL, "--seeds", 2, "--scale", SCALE, "--posterior", post, "--out", out, "--quiet"))
    diffs = json.loads((out / "differences.json").read_text())
    draws = diffs["parameter_draws"]["draws"]
    assert len(draws) == 2 and {d["health.w_self_help"] for d in draws} <= {-0.3, 0.3}
    by_seed = json.loads((out / "outcomes_by_seed.json").read_text())["outcomes"]
    eff = [by_seed["a"][s]["hle_male_true"]["2017-19"] - by_seed["b"][s]["hle_male_true"]["2017-19"] for s in "01"]
    # The self-help lever's sign follows the draw's (harm lowers true HLE, benefit raises it).
    for d, e in zip(draws, eff):
        assert np.sign(e) == np.sign(d["health.w_self_help"]), (d, e)


def test_deal_and_no_deal_identical_before_2012_and_differ_after(compare_dirs):
    """Common random numbers: the Deal arm and its no-Deal twin share every draw until the Deal acts
    (pilot 2012-01). A failure here is a model bug (a Deal lever acting early, or a shared random stream)."""
    import pyarrow.parquet as pq

    t = pq.read_table(compare_dirs[2][0] / "timeseries_by_seed.parquet").to_pydict()
    cols = [c for c in t if c not in ("arm", "scenario", "seed", "month")]
    arm, seed, month = np.asarray(t["arm"]), np.asarray(t["seed"]), np.asarray(t["month"])
    for s in (0, 1):
        a, b = (arm == "a") & (seed == s), (arm == "b") & (seed == s)
        assert list(month[a]) == list(month[b])
        months = month[a]
        same = np.ones(months.size, bool)
        for c in cols:
            x, y = np.asarray(t[c], dtype=float)[a], np.asarray(t[c], dtype=float)[b]
            same &= (x == y) | (np.isnan(x) & np.isnan(y))
        before = months < "2012-01"
        assert before.any() and same[before].all(), \
            f"seed {s}: arms differ before 2012-01 in {list(months[before & ~same])[:5]}"
        assert not same[(months >= "2012-01") & (months < "2013-01")].all(), f"seed {s}: no difference in 2012"
        later = months >= "2013-01"
        assert not same[later].any(), f"seed {s}: identical rows after 2013: {list(months[later & same])[:5]}"


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------
def test_check_all_scenarios():
    from model.scenario import load_scenario

    files = sorted(SCENARIOS.glob("*.yaml"))
    assert files
    p = ok(cli("check", *files))
    for f in files:
        assert load_scenario(f).sha256 in p.stdout
    assert "deal:" in p.stdout  # the resolved parameters
    q = ok(cli("check", "--quiet", *files))
    assert len(q.stdout.splitlines()) == len(files)


# ---------------------------------------------------------------------------------------------
# help
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "compare", "check"])
def test_help_explains_every_option(command):
    sys.path.insert(0, str(ROOT))
    import simulate

    parser = simulate.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    text = ok(cli(command, "--help")).stdout
    for action in sub._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        for opt in action.option_strings:
            assert opt in text


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def _bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    (folder / "malformed.yaml").write_text("name: broken\ndeal:\n  enabled: [true\n")
    (folder / "unknown.yaml").write_text("name: typo\ndeal:\n  fidelty: 0.5\n")
    (folder / "existing").mkdir(exist_ok=True)
    (folder / "existing" / "keep.txt").write_text("not a result")
    return {"missing": folder / "nope.yaml", "malformed": folder / "malformed.yaml", "unknown": folder / "unknown.yaml"}


BAD = {
    # name: (arguments, text the one-line message must contain)
    "missing file": (["run", "{missing}"], "nope.yaml"),
    "malformed yaml": (["run", "{malformed}"], "malformed.yaml:3"),
    "unknown key": (["run", "{unknown}"], "deal.fidelty"),
    "unknown key in compare arm B": (["compare", str(WIGAN), "{unknown}", "--seeds", "1"], "deal.fidelty"),
    "scale 0": (["run", str(WIGAN), "--scale", "0"], "--scale"),
    "scale abc": (["run", str(WIGAN), "--scale", "abc"], "--scale"),
    "scale 2": (["compare", str(WIGAN), str(NO_DEAL), "--scale", "2"], "--scale"),
    "negative seed": (["run", str(WIGAN), "--seed", "-3"], "--seed"),
    "existing out": (["run", str(WIGAN), "--scale", SCALE, "--out", "{existing}"], "existing"),
    "existing out, force, not a result": (["run", str(WIGAN), "--scale", SCALE, "--out", "{existing}", "--force"],
                                          "existing"),
    "out in missing folder": (["run", str(WIGAN), "--out", "{nowhere}"], "does not exist"),
    "bad override": (["run", str(WIGAN), "--set", "deal.fidelity=1.5", "--out", "{out}"], "deal.fidelity"),
    "check a bad file": (["check", str(WIGAN), "{unknown}"], "deal.fidelty"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line_exit_2_no_output(case, tmp_path):
    files = _bad_files(tmp_path)
    fill = {**{k: str(v) for k, v in files.items()}, "existing": str(tmp_path / "existing"),
            "nowhere": str(tmp_path / "no" / "such" / "out"), "out": str(tmp_path / "out")}
    args, needle = BAD[case]
    args = [a.format(**fill) for a in args]
    if "--out" not in args and args[0] != "check":
        args += ["--out", fill["out"]]
    before = sorted(os.listdir(tmp_path))
    p = cli(*args, cwd=tmp_path)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert needle in lines[0]
    assert "Traceback" not in p.stderr + p.stdout
    assert sorted(os.listdir(tmp_path)) == before  # no result folder, no temporary folder, no results/
    assert (tmp_path / "existing" / "keep.txt").read_text() == "not a result"


# ---------------------------------------------------------------------------------------------
# interrupts and the atomic folder
# ---------------------------------------------------------------------------------------------
def test_atomic_folder_removes_everything_on_interrupt(tmp_path):
    from runs.outputs import atomic_folder

    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(tmp_path / "res") as tmp:
            (tmp / "half.csv").write_text("a,b\n")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
    with atomic_folder(tmp_path / "res") as tmp:
        (tmp / "provenance.json").write_text("{}")
    assert os.listdir(tmp_path) == ["res"]


def _wait_until_simulating(proc: subprocess.Popen, command: str, timeout: float = 60.0) -> None:
    """Wait for the event, not for a time: the run is inside its simulation once the process that simulates
    (the command itself for run, a Dask worker for compare) has spent 1.5 s of CPU after its imports."""
    import psutil

    me = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the command ended before it could be interrupted"
        try:
            procs = [me] if command == "run" else [c for c in me.children(recursive=True) if "worker" in
                                                   " ".join(c.cmdline()) or "spawn_main" in " ".join(c.cmdline())]
            if any(sum(p.cpu_times()[:2]) > 1.5 + (2.0 if p is me else 0.0) for p in procs):
                return
        except psutil.Error:
            pass
        time.sleep(0.05)
    pytest.fail(f"{command} did not start simulating within {timeout:.0f} s")


@pytest.mark.parametrize("command", ["run", "compare"])
def test_ctrl_c_exits_130_and_leaves_nothing(command, tmp_path):
    out = tmp_path / "out"
    args = ["run", WIGAN] if command == "run" else ["compare", WIGAN, NO_DEAL, "--seeds", "1"]
    proc = subprocess.Popen([sys.executable, str(SIMULATE), *map(str, args), "--scale", "0.5", "--out", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    _wait_until_simulating(proc, command)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, stdout, stderr)
    assert stderr.strip().splitlines() == ["error: interrupted; no results written"], stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("scale", ["0.0005", "0.000001"])
def test_a_scale_too_small_to_measure_is_refused_before_running(tmp_path, scale):
    """One line naming the smallest workable scale, exit 2, no traceback, nothing written."""
    out = tmp_path / "tiny"
    p = cli("run", WIGAN, "--scale", scale, "--out", out)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "smallest workable scale" in p.stderr and "0.0031" in p.stderr
    assert not out.exists()


def test_a_design_too_small_for_its_emulator_is_refused_before_running(tmp_path):
    """calibrate-areas --points below twice the quadratic's coefficients (342 for 17 parameters) used to run the
    whole design and then fail inside the fit with a NumPy broadcast error; now one line names the file, the key,
    its line and the minimum, exit 2, and no design run starts."""
    out, res = tmp_path / "design", tmp_path / "res"
    p = cli("calibrate-areas", ROOT / "calibration" / "areas.yaml", "--points", "300", "--out", out, "--results", res)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "areas.yaml:" in lines[0] and "design.size" in lines[0] and "--points 300" in lines[0]
    assert "at least 342 runs" in lines[0]
    assert not out.exists() and not res.exists()


def test_unmeasurable_periods_are_null_with_their_reason():
    """What a run writes for a period it could not measure: null in outcomes.json, the reason in provenance."""
    sys.path.insert(0, str(ROOT))
    import simulate

    merged = simulate.with_nulls({"hle_male": {"2010-12": 60.0}}, {"hle_male": {"2009-11": "no deaths"}})
    assert merged == {"hle_male": {"2009-11": None, "2010-12": 60.0}}


def test_a_run_freezes_the_imports_once_and_no_garbage_with_them():
    """runs.single.freeze_imports (gc.freeze, for speed) must collect first: an object in a reference cycle that is
    already garbage when the first run starts is freed, not kept for the process's life; a second run freezes
    nothing more. In a fresh interpreter, so the first run of this process is the one observed."""
    code = """
import gc, weakref
from runs.single import run_one
from model.scenario import load_scenario
class Cycle:
    pass
c = Cycle(); c.me = c; dead = weakref.ref(c); del c
gc.disable()  # the cycle must not be collected by chance before the run
lo = load_scenario("scenarios/wigan.yaml")
run_one(lo, 0, 0.004)
first = gc.get_freeze_count()
run_one(lo, 1, 0.004)
print(dead() is None, first > 10000, gc.get_freeze_count() == first)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split() == ["True", "True", "True"], p.stdout
