"""The distributed engines on real ones: an external Dask scheduler with two workers on loopback (started here as
`dask scheduler` and `dask worker` processes), and a SLURM cluster where one runs (CI starts a single-node one).

Each check runs the same small job locally and through the engine and asks for the same results: every draw is
keyed (model/rng.py), so where a run executes cannot change its numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIMULATE = ROOT / "simulate.py"
WIGAN = ROOT / "scenarios" / "wigan.yaml"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SWEEP = f"""
name: distributed
scenario: {WIGAN}
parameters:
  deal.fidelity: [0.5, 1.0]
replicates: 2
scale: 0.01
outputs:
  - hle_male@2017-19
  - care_home_admissions_65plus_per_100k@2017/18
  - good_health_share@final
"""

def simulate(*args: object, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, str(SIMULATE), *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                       timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def dataset(folder: Path):
    from sweep import storage

    return storage.SweepStore(folder).read()


def skip_or_fail(reason: str) -> None:
    """Locally a missing engine is a skip with its reason; under CI (CI=true) it is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must provide it)")
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# An external Dask scheduler
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """`dask scheduler` and two single-threaded `dask worker` processes on 127.0.0.1; yields the scheduler file."""
    dask_cli = Path(sys.executable).parent / "dask"
    if not dask_cli.exists():
        skip_or_fail("the 'dask' command is not installed next to this Python")
    folder = tmp_path_factory.mktemp("dask")
    sfile = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sfile)], cwd=folder, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not sfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sfile.exists(), "the Dask scheduler did not start within 60 s"
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(dask_cli), "worker", "--scheduler-file", str(sfile), "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(folder / f"w{i}")],
                cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from runs.executor import connect

        client = connect(str(sfile))
        try:
            client.wait_for_workers(2, timeout=90)
        finally:
            client.close()
        yield sfile
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_a_sweep_through_an_external_scheduler_equals_the_local_one(scheduler, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(SWEEP).lstrip())
    simulate("sweep", path, "--out", tmp_path / "local", "--workers", "1", "-q")
    simulate("sweep", path, "--out", tmp_path / "remote", "--scheduler", scheduler, "-q")
    local, remote = dataset(tmp_path / "local"), dataset(tmp_path / "remote")
    assert local.num_rows == 4 and set(local.column("status").to_pylist()) == {"ok"}
    assert remote.equals(local)


def test_compare_through_an_external_scheduler_equals_the_local_one(scheduler, tmp_path):
    no_deal = ROOT / "scenarios" / "wigan_no_deal.yaml"
    args = ("compare", WIGAN, no_deal, "--seeds", "2", "--scale", "0.01", "-q")
    simulate(*args, "--out", tmp_path / "local", "--workers", "1")
    simulate(*args, "--out", tmp_path / "remote", "--scheduler", scheduler)
    a = json.loads((tmp_path / "local" / "outcomes_by_seed.json").read_text())
    b = json.loads((tmp_path / "remote" / "outcomes_by_seed.json").read_text())
    assert a == b and a


def test_a_tiny_calibration_and_its_validation_through_an_external_scheduler(scheduler, tmp_path):
    """calibrate --scheduler runs pyabc's Dask sampler on the external workers and writes a posterior; validating
    that posterior through the scheduler gives the statistics of validating it in this process."""
    from test_calibration import tiny_calibration  # the tiny calibration the calibration tests use

    cal = tiny_calibration(tmp_path, generations=1)
    simulate("calibrate", cal, "--out", tmp_path / "out", "--scheduler", scheduler, "--quiet")
    post_csv = tmp_path / "posterior" / "tiny.csv"
    assert post_csv.is_file()
    prov = json.loads((tmp_path / "posterior" / "tiny.json").read_text())
    assert str(scheduler) in json.dumps(prov)

    from calibration.config import load_calibration
    from calibration.posterior_io import load_posterior
    from calibration.validate import run_validation

    c, post = load_calibration(cal), load_posterior(post_csv)
    here = run_validation(c, post, draws=3, seeds=1, workers=1, seed=5)
    there = run_validation(c, post, draws=3, seeds=1, workers=2, seed=5, scheduler=str(scheduler))
    assert here.stats == there.stats and here.stats


# ---------------------------------------------------------------------------------------------
# A real SLURM cluster (CI starts a single-node one: .ci/slurm.sh)
# ---------------------------------------------------------------------------------------------
def slurm_partition() -> str:
    if not (shutil.which("sbatch") and shutil.which("sinfo")):
        skip_or_fail("SLURM is not installed here (sbatch and sinfo not found); .ci/slurm.sh sets up one node")
    p = subprocess.run(["sinfo", "-h", "-o", "%P %a"], capture_output=True, text=True, timeout=30)
    up = [line.split()[0].rstrip("*") for line in p.stdout.splitlines() if line.split()[1:] == ["up"]]
    if p.returncode != 0 or not up:
        skip_or_fail(f"no SLURM partition is up (sinfo: {(p.stderr or p.stdout).strip()[:200]})")
    return up[0]


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("slurm")
    path = folder / "sweep.yaml"
    path.write_text(textwrap.dedent(SWEEP).lstrip())
    simulate("sweep", path, "--out", folder / "local", "--workers", "1", "-q")
    return path, folder / "local"


def test_a_sweep_with_dask_jobqueue_workers_as_slurm_jobs_equals_the_local_one(small_sweep, tmp_path):
    queue = slurm_partition()
    path, local = small_sweep
    simulate("sweep", path, "--out", tmp_path / "slurm", "--cluster", "slurm", "--queue", queue, "--cores", "1",
             "--memory", "2GB", "--jobs", "2", "--walltime", "00:20:00", "--log-dir", tmp_path / "logs", "-q",
             timeout=600)
    assert dataset(tmp_path / "slurm").equals(dataset(local))


def test_an_sbatch_array_of_shards_equals_the_local_sweep(small_sweep, tmp_path):
    queue = slurm_partition()
    path, local = small_sweep
    out = tmp_path / "array"
    script = tmp_path / "array.sh"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/bash
        #SBATCH --partition={queue}
        #SBATCH --array=1-2
        #SBATCH --cpus-per-task=1
        #SBATCH --output={tmp_path}/array-%a.log
        cd {ROOT}
        export NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1
        {sys.executable} {SIMULATE} sweep {path} --out {out} --shard ${{SLURM_ARRAY_TASK_ID}}/2 -q
        """))
    p = subprocess.run(["sbatch", "--parsable", "--wait", str(script)], capture_output=True, text=True, timeout=600)
    logs = "\n".join(f.read_text() for f in sorted(tmp_path.glob("array-*.log")))
    assert p.returncode == 0, f"sbatch: {p.stdout}\n{p.stderr}\n{logs}"
    assert dataset(out).equals(dataset(local)), logs
