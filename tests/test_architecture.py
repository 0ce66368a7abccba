"""The architecture, checked: the layers (import-linter's contracts in setup.cfg) and no private names taken
across packages."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "runs", "sweep", "calibration", "assess", "cli", "webapp")


def test_the_layer_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("import-linter is not installed (it is a test dependency: pip install -e '.[test]')")
    r = subprocess.run([exe, "--config", str(ROOT / "setup.cfg")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def _sources():
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            yield pkg, f
    for f in ("simulate.py", "app.py"):
        yield f[:-3], ROOT / f


def _private_uses(pkg: str, tree: ast.AST) -> list[str]:
    found = []
    modules: dict[str, str] = {}  # local name -> top-level package of the module it names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            if top in PACKAGES and top != pkg:
                for a in node.names:
                    if a.name.startswith("_"):
                        found.append(f"from {node.module} import {a.name}")
                    modules[a.asname or a.name] = top
        elif isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top in PACKAGES and top != pkg:
                    modules[a.asname or top] = top
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_takes_a_private_name_from_another_package():
    bad = {}
    for pkg, f in _sources():
        uses = _private_uses(pkg, ast.parse(f.read_text(), str(f)))
        if uses:
            bad[str(f.relative_to(ROOT))] = sorted(set(uses))
    assert not bad, bad


def _quantile_summaries(tree: ast.AST) -> int:
    """Calls of np.quantile / np.nanquantile / np.percentile with the summary's literal levels (5%, 50%, 95%)."""
    n = 0
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("quantile", "nanquantile", "percentile") and len(node.args) >= 2
                and isinstance(node.args[1], (ast.List, ast.Tuple))):
            levels = [getattr(e, "value", None) for e in node.args[1].elts]
            if levels in ([0.05, 0.5, 0.95], [5, 50, 95]):
                n += 1
    return n


def test_one_quantile_summary():
    # runs/outputs.quantiles is the summary; the fan-chart helper (runs/plots.py) takes quantiles along an axis.
    allowed = {"runs/outputs.py", "runs/plots.py"}
    bad = [str(f.relative_to(ROOT)) for _, f in _sources()
           if str(f.relative_to(ROOT)) not in allowed and _quantile_summaries(ast.parse(f.read_text(), str(f)))]
    assert not bad, f"write the 5/50/95% summary with runs.outputs.quantiles: {bad}"


def test_the_quantile_summary_names_its_median_and_skips_what_is_not_a_number():
    from runs.outputs import quantiles

    assert quantiles([1.0, None, float("nan"), 3.0, 2.0]) == {"q05": 1.1, "median": 2.0, "q95": 2.9, "n": 3}
    assert quantiles(np.array([1.0, 2.0, 3.0]), median="q50", count=False, rnd=None) == pytest.approx(
        {"q05": 1.1, "q50": 2.0, "q95": 2.9})
    assert quantiles([], median="q50") == {"q05": None, "q50": None, "q95": None, "n": 0}


def test_one_atomic_writer():
    # runs.outputs holds the writer (write_file) and the folder version (atomic_folder); nothing else renames.
    bad = []
    for _, f in _sources():
        rel = str(f.relative_to(ROOT))
        if rel == "runs/outputs.py":
            continue
        for node in ast.walk(ast.parse(f.read_text(), rel)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("replace", "rename", "link") and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "os"):
                bad.append(f"{rel}:{node.lineno}")
    assert not bad, f"write files through runs.outputs.write_file: {bad}"


def test_the_atomic_writer_keeps_the_old_file_when_a_write_fails(tmp_path):
    from runs.outputs import write_file

    target = tmp_path / "a.txt"
    write_file(target, lambda p: p.write_text("old"))

    def half(p):
        p.write_text("ha")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_file(target, half)
    assert target.read_text() == "old" and [x.name for x in tmp_path.iterdir()] == ["a.txt"]
    with pytest.raises(FileExistsError):
        write_file(target, lambda p: p.write_text("second"), exclusive=True)
    assert target.read_text() == "old" and [x.name for x in tmp_path.iterdir()] == ["a.txt"]
