"""Scenarios the app offers, the levers it exposes, and the Mesa model it steps (``AppModel``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assess.council import load_council
from model.adoption import first_deal_year, shifted_timeline
from model.model import DealModel
from model.scenario import LoadedScenario, ScenarioError, apply_overrides, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
COUNCILS = SCENARIOS / "councils"

DEFAULT_SCALE = 0.05  # 5% of residents: construction about 0.5 s, a month a few milliseconds


def scenario_choices() -> dict[str, Path]:
    """Label shown in the app -> scenario file. Wigan, Wigan without the Deal, England, every council file."""
    out = {
        "Wigan (the Deal)": SCENARIOS / "wigan.yaml",
        "Wigan without the Deal": SCENARIOS / "wigan_no_deal.yaml",
    }
    if (SCENARIOS / "england_average.yaml").is_file():
        out["England average borough (no Deal)"] = SCENARIOS / "england_average.yaml"
    for p in sorted(COUNCILS.glob("*.yaml")):
        if p.name == "TEMPLATE.yaml":
            continue
        out[f"{p.stem.replace('_', ' ').title()} (the Deal, council file)"] = p
    return out


def council_choices() -> dict[str, Path]:
    """Comparator councils (scenarios/councils/*.yaml, the template last)."""
    out = {p.stem.replace("_", " ").title(): p for p in sorted(COUNCILS.glob("*.yaml")) if p.name != "TEMPLATE.yaml"}
    if (COUNCILS / "TEMPLATE.yaml").is_file():
        out["Template (Wigan's own figures)"] = COUNCILS / "TEMPLATE.yaml"
    return out


def load_any(path: Path) -> LoadedScenario:
    """A scenario file, or a council file (its ``council:`` section read by ``load_council``)."""
    if path.resolve().parent == COUNCILS.resolve():
        return load_council(path).loaded
    return load_scenario(path)


@dataclass(frozen=True)
class Levers:
    """The Deal's levers as the app shows them. ``None`` keeps the scenario's own value."""

    start_year: int | None = None          # year the Deal starts: its whole timeline shifted
    fidelity: float | None = None          # deal.fidelity
    fund_x: float | None = None            # community investment fund (deal.fund_gbp_m) x the scenario's plan
    investment_x: float | None = None      # other investment (care-home fund, training per head) x the plan
    autonomy: float | None = None          # deal.permitted_autonomy: staff autonomy


def lever_overrides(loaded: LoadedScenario, levers: Levers) -> dict[str, Any]:
    """Dotted overrides for the levers (validated afterwards by ``apply_overrides``)."""
    d = loaded.scenario.deal
    out: dict[str, Any] = {}
    if levers.start_year is not None:
        out.update(shifted_timeline(d, int(levers.start_year) - first_deal_year(d)))
    if levers.fund_x is not None:
        out["deal.fund_gbp_m"] = round(d.fund_gbp_m * float(levers.fund_x), 6)
    if levers.investment_x is not None:
        out["deal.care_home_fund_gbp_m"] = round(d.care_home_fund_gbp_m * float(levers.investment_x), 6)
        out["deal.training_gbp_per_staff"] = round(d.training_gbp_per_staff * float(levers.investment_x), 6)
    for key, value in (("deal.fidelity", levers.fidelity), ("deal.permitted_autonomy", levers.autonomy)):
        if value is not None:
            out[key] = value
    return out


def build_scenario(label: str, levers: Levers) -> LoadedScenario:
    choices = scenario_choices()
    if label not in choices:
        raise ScenarioError(f"unknown scenario {label!r} (choose one of: {', '.join(choices)})", "app", "scenario")
    loaded = load_any(choices[label])
    over = lever_overrides(loaded, levers)
    return apply_overrides(loaded, over, source="app levers") if over else loaded


class AppModel(DealModel):
    """DealModel built from the app's choices; keyword arguments only, as Mesa's ModelController needs to
    rebuild it on Reset."""

    def __init__(self, scenario_name: str = "Wigan (the Deal)", start_year: int = 2012, fidelity: float = 1.0,
                 fund_x: float = 1.0, investment_x: float = 1.0, autonomy: float = 0.85,
                 scale: float = DEFAULT_SCALE, seed: int = 0, scenario: Any = None, **_: Any):
        # `scenario` is the Mesa scenario its controller passes on Reset: the app's scenario is `scenario_name`.
        levers = Levers(start_year=int(start_year), fidelity=float(fidelity), fund_x=float(fund_x),
                        investment_x=float(investment_x), autonomy=float(autonomy))
        self.loaded = build_scenario(scenario_name, levers)
        self.scenario_name = scenario_name
        super().__init__(self.loaded.scenario, seed=int(seed), scale=float(scale), base_dir=self.loaded.path.parent)


MODEL_PARAMS: dict[str, Any] = {
    "scenario_name": {"type": "Select", "value": "Wigan (the Deal)", "values": list(scenario_choices()),
                      "label": "Scenario"},
    "start_year": {"type": "SliderInt", "value": 2012, "min": 2009, "max": 2024, "step": 1,
                   "label": "Deal start year"},
    "fidelity": {"type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 1.0, "step": 0.05, "label": "Fidelity"},
    "fund_x": {"type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 3.0, "step": 0.1,
               "label": "Fund (x plan)"},
    "investment_x": {"type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 3.0, "step": 0.1,
                     "label": "Other investment (x plan)"},
    "autonomy": {"type": "SliderFloat", "value": 0.85, "min": 0.0, "max": 1.0, "step": 0.05,
                 "label": "Staff autonomy"},
    "scale": {"type": "SliderFloat", "value": DEFAULT_SCALE, "min": 0.01, "max": 1.0, "step": 0.01,
              "label": "Scale"},
    "seed": {"type": "SliderInt", "value": 0, "min": 0, "max": 99, "step": 1, "label": "Seed"},
}


def warm_kernels() -> None:
    """Load the model's compiled kernels (Numba's cache) in this process: a tiny model is built and stepped."""
    DealModel(load_scenario(SCENARIOS / "wigan.yaml").scenario, seed=0, scale=0.004).step()


def warm_up(workers: int | None = None) -> None:
    """When the server starts: the kernels in the server's own process (the explore page), and, in the
    background, the assessments' kept local cluster (runs.executor.kept) with the kernels loaded in each of its
    `workers`, so that the first assessment a user runs does not wait for workers to start."""
    warm_kernels()
    if workers:
        import threading

        from runs import executor

        def start() -> None:
            try:
                executor.kept(workers).run(warm_kernels)
            except Exception:  # noqa: BLE001 - an assessment starts the cluster itself if this failed
                pass

        threading.Thread(target=start, name="dealsim-warm-cluster", daemon=True).start()
