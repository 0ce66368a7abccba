"""Command-line argument types shared by simulate.py and the calibration commands (one wording of each error)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def scale_arg(text: str) -> float:
    """--scale: the share of the borough simulated, in (0, 1]."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and at most 1, got {text!r}") from None
    if not math.isfinite(v) or not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1 (the share of the borough simulated), got {text!r}")
    return v


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
