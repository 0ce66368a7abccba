"""Prior and posterior marginals of every free parameter: docs/figures/posterior_marginals.png.

    python calibration/experiments/marginals.py [--posterior calibration/posterior/wigan.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from calibration.config import load_calibration  # noqa: E402
from calibration.posterior_io import load_posterior  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posterior", default=None)
    ap.add_argument("--out", default=str(ROOT / "docs" / "figures" / "posterior_marginals.png"))
    a = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    post = load_posterior(a.posterior)
    cal = load_calibration(ROOT / "calibration" / "wigan.yaml")
    k = len(post.keys)
    cols = 5
    rows = -(-k // cols)
    fig = Figure(figsize=(3.2 * cols, 2.5 * rows), layout="constrained")
    axes = fig.subplots(rows, cols).ravel()
    w = post.weights / post.weights.sum()
    for ax, (j, key) in zip(axes, enumerate(post.keys)):
        lo, hi = cal.parameters[key].low, cal.parameters[key].high
        x = post.values[:, j]
        bins = np.linspace(lo, hi, 16)
        ax.hist(x, bins=bins, weights=w / np.diff(bins)[0], color="#1f77b4", alpha=0.7, label="posterior")
        ax.plot([lo, hi], [1 / (hi - lo)] * 2, color="0.3", linestyle="--", label="prior")
        ax.set_title(key, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in axes[k:]:
        ax.axis("off")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Free parameters: uniform prior (dashed) and weighted posterior ({len(post)} particles, "
                 f"ESS {post.ess():.0f})", fontsize=10)
    fig.savefig(a.out, dpi=110)
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
