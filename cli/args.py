"""Command-line helpers shared by simulate.py and the calibration commands: argument types (one wording of
each error) and summary tables."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any


def float_arg(expected: str, bounds: str, ok: Callable[[float], bool]) -> Callable[[str], float]:
    """A finite number for which `ok` holds; `expected` and `bounds` word the two errors ("expected EXPECTED, got
    'x'" when it is not a number, "must be BOUNDS, got 'x'" when it is out of range)."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(v) or not ok(v):
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text!r}")
        return v

    return parse


# --scale: the share of the borough simulated, in (0, 1].
scale_arg = float_arg("a number above 0 and at most 1", "above 0 and at most 1 (the share of the borough simulated)",
                      lambda v: 0 < v <= 1)


def int_arg(what: str, lo: int, hi: int) -> Callable[[str], int]:
    """A whole number in [lo, hi], named `what` in messages."""
    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be from {lo} to {hi}, got {v}")
        return v

    parse.__name__ = what
    return parse


def results_table(title: str, columns, first_min_width: int | None = None):
    """A plain rich table for terminal summaries; numbers (every column but the first) never wrap."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i, (name, just) in enumerate(columns):
        t.add_column(name, justify=just, no_wrap=i > 0, min_width=first_min_width if i == 0 else None)
    return t


def posterior_for_runs(path: str, k: int) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """k parameter sets drawn from a posterior file (fixed generator seed 0, so a command repeats exactly), and
    where they came from, for the provenance."""
    import numpy as np

    from calibration.posterior_io import load_posterior, posterior_draws

    post = load_posterior(path)
    source = {"file": path, "particles": len(post), "rng_seed": 0,
              "made_at_commit": (post.provenance.get("provenance") or {}).get("git_commit")}
    return posterior_draws(post, k, np.random.default_rng(0)), source
