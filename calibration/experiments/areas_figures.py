"""Figures of the multi-area calibration, from its result files: the Deal's effect beside the placebos (a forest
plot), and how much each parameter's posterior narrowed from its prior.

    python -m calibration.experiments.areas_figures     # writes docs/figures/areas_effects.png, areas_widths.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _load(name: str) -> dict:
    return json.loads((ROOT / "calibration" / name).read_text())


def effects_figure(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    att = _load("experiments/attribution.json")
    plc = _load("experiments/placebo.json")["placebos"]
    rows: list[tuple[str, dict, str]] = []
    for series, colour in (("original", "C0"), ("revised", "C1")):
        for sex in ("male", "female"):
            for period in ("2015-17", "2017-19"):
                e = att[series]["effects"].get(f"hle_{sex}_true[{period}]")
                if e:
                    rows.append((f"Wigan, the Deal: {'men' if sex == 'male' else 'women'} {period} ({series} series)",
                                 e, colour))
    for sex in ("male", "female"):  # the priors' own answer: what a fit that learns nothing returns
        e = att.get("prior", {}).get("effects", {}).get(f"hle_{sex}_true[2017-19]")
        if e:
            rows.append((f"the priors alone, no data: {'men' if sex == 'male' else 'women'} 2017-19", e, "C3"))
    for p in plc:
        sex = "men" if "male" in p["outcome"] and "female" not in p["outcome"] else "women"
        what = "given a Deal from 2014" if p["kind"] == "control area" else "fake Deal from 2010, data to 2013"
        rows.append((f"{p['area'].title()} {what}: {sex} {p['period']}", p, "C7"))
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.4))
    for i, (label, q, colour) in enumerate(reversed(rows)):
        ax.plot([q["q05"], q["q95"]], [i, i], color=colour, lw=2.5)
        ax.plot(q["q50"], i, "o", color=colour)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in reversed(rows)], fontsize=8)
    ax.set_xlabel("effect on healthy life expectancy, true prevalence (years):\nmedian and 90% interval")
    ax.set_title("The Deal's estimated effect in Wigan (blue, orange), the priors' alone (red),\n"
                 "and placebos where the answer is zero (grey)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def widths_figure(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = _load("posterior/areas.json")["widths"]
    keys = list(w)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(keys) + 1.2))
    ratios = [w[k]["width_ratio"] for k in keys]
    ax.barh(range(len(keys)), ratios, color=["C2" if r < 0.5 else "C7" for r in ratios])
    ax.axvline(1, color="k", lw=0.8)
    ax.axvline(0.5, color="k", lw=0.5, ls=":")
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels(keys, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("posterior 90% width / prior 90% width (green: the data pin it down, below 0.5)")
    ax.set_title("What the multi-area data identify (original HLE series)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> int:
    figs = ROOT / "docs" / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    effects_figure(figs / "areas_effects.png")
    widths_figure(figs / "areas_widths.png")
    print(f"wrote {figs / 'areas_effects.png'} and {figs / 'areas_widths.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
