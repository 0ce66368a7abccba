"""Provenance of a result folder: what was run, with which code and environment, when and how long.

Everything needed to reproduce a run is recorded: the resolved scenario and its SHA-256, seed(s), scale,
the package version, the git commit of the checkout (and whether it had uncommitted changes), the
Python, numpy and Mesa versions, the command line, start time and wall time.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["git_info", "package_version", "environment", "scenario_record", "build", "now_utc", "iso"]


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_info(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` for the checkout containing ``directory``.

    ``dirty`` is true when tracked files differ from the commit or untracked (not ignored) files exist,
    since either may change results. Both are None when ``directory`` is not in a git checkout or git is
    missing.
    """
    d = Path(directory)
    head = _git(["rev-parse", "HEAD"], d)
    if head is None:
        return {"commit": None, "dirty": None}
    status = _git(["status", "--porcelain"], d)
    return {"commit": head.strip() or None, "dirty": None if status is None else bool(status.strip())}


def package_version(root: str | os.PathLike[str] | None = None) -> str:
    """The installed ``dealsim`` version, else the one in ``setup.cfg`` at ``root``, else ``"unknown"``."""
    try:
        return importlib.metadata.version("dealsim")
    except importlib.metadata.PackageNotFoundError:
        pass
    if root is not None:
        try:
            text = (Path(root) / "setup.cfg").read_text(encoding="utf-8")
        except OSError:
            text = ""
        m = re.search(r"^version\s*=\s*(\S+)", text, re.MULTILINE)
        if m:
            return m.group(1)
    return "unknown"


def _version_of(module: str) -> str | None:
    try:
        return importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        mod = sys.modules.get(module)
        return getattr(mod, "__version__", None)


def environment(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Code and environment: package version, git commit and dirty flag, library versions, platform."""
    git = git_info(root)
    return {
        "dealsim_version": package_version(root),
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "python": platform.python_version(),
        "numpy": _version_of("numpy"),
        "mesa": _version_of("mesa"),
        "pyarrow": _version_of("pyarrow"),
        "platform": platform.platform(),
    }


def scenario_record(loaded: Any) -> dict[str, Any]:
    """A loaded scenario (model.scenario.LoadedScenario) as recorded: name, files, hash, overrides, values."""
    return {
        "name": loaded.scenario.name,
        "file": str(loaded.path),
        "chain": [str(p) for p in loaded.chain],
        "sha256": loaded.sha256,
        "overrides": dict(loaded.overrides),
        "resolved": loaded.resolved,
    }


def build(*, command: str, root: str | os.PathLike[str], argv: list[str], started: datetime,
          wall_time_s: float, **fields: Any) -> dict[str, Any]:
    """The provenance record of one command. ``fields`` (seed, scale, scenario(s), ...) are added as given."""
    return {
        "tool": "dealsim",
        "command": command,
        "command_line": " ".join(shlex.quote(a) for a in argv),
        "argv": list(argv),
        "executable": sys.executable,
        "cwd": os.getcwd(),
        "started_at": iso(started),
        "finished_at": iso(now_utc()),
        "wall_time_s": round(wall_time_s, 3),
        **fields,
        **environment(root),
    }
