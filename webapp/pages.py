"""The app's two pages: "Explore a run" (Mesa's model controller, live charts) and "Assess a council" (form,
upload, assessment with progress, fan charts, probability of a gain, cost and payback, limits, downloads)."""

from __future__ import annotations

import threading
from typing import Any

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from assess.council import load_council
from model.scenario import ScenarioError

from . import assess as AS
from .charts import CHARTS, RunStatus, make_chart
from .forms import FIELDS, Checked, Workspace, check_form, check_upload, field_values, template_help
from .ui import Md
from .state import MODEL_PARAMS, AppModel, council_choices

CHART_VIEWS = {k: make_chart(k) for k in CHARTS}


@solara.component
def Live(view: Any, model: Any):
    """`view(model)`, drawn again whenever Mesa's controller has stepped the model (its update counter)."""
    update_counter.get()
    return view(model)


@solara.component
def Lever(name: str, spec: dict[str, Any], value: Any, on_value: Any):
    """One of the levers, its value always on show (a Select, or a slider whose thumb label stays up)."""
    label = spec.get("label", name)
    if spec["type"] == "Select":
        solara.Select(label, values=spec["values"], value=value, on_value=on_value)
        return
    slider = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
    with solara.Column(gap="0px", style={"padding-top": "26px"}):  # room for the thumb label above the track
        slider(label, value=value, on_value=on_value, min=spec["min"], max=spec["max"], step=spec["step"],
               thumb_label="always")


@solara.component
def Controls(model: Any, levers: Any, play_ms: Any, every: Any, threads: Any):
    """Mesa's controller (Reset, play/pause, Step), with its pace and redraw interval."""
    with solara.Card("Run the model"):
        ModelController(model, model_parameters=levers, play_interval=play_ms, render_interval=every,
                        use_threads=threads)
        Lever("play", {"type": "SliderInt", "label": "Pause between months (ms)", "min": 0, "max": 500,
                       "step": 10}, play_ms.value, play_ms.set)
        Lever("every", {"type": "SliderInt", "label": "Months between redraws", "min": 1, "max": 24, "step": 1},
              every.value, every.set)


@solara.component
def Levers(levers: Any):
    """The scenario and the Deal's levers; Reset builds the model from them (its own component, so that moving
    a slider redraws this card and not the charts)."""

    def set_lever(key: str, value: Any) -> None:
        levers.set({**levers.value, key: value})

    with solara.Card("Scenario and levers (Reset applies them)"):
        for key, spec in MODEL_PARAMS.items():
            Lever(key, spec, levers.value[key], lambda value, k=key: set_lever(k, value))


@solara.component
def ExplorePage():
    """Choose a scenario, set the levers, step or play month by month, watch the charts. Mesa's ModelController
    steps, plays and resets (rebuilding the model from the levers); the page lays out the rest itself, so that
    it has no one-page tab bar and every slider shows its value."""
    first = solara.use_memo(lambda: AppModel(), [])
    model = solara.use_reactive(first)
    levers = solara.use_reactive({k: spec["value"] for k, spec in MODEL_PARAMS.items()})
    play_ms = solara.use_reactive(50)
    every = solara.use_reactive(1)
    threads = solara.use_reactive(False)
    with solara.AppBar():
        solara.AppBarTitle("dealsim: explore a run")
    with solara.Sidebar(), solara.Column():
        Controls(model, levers, play_ms, every, threads)
        Levers(levers)
    with solara.Column(style={"padding": "8px"}):
        Live(RunStatus, model.value)
        with solara.GridFixed(columns=2):
            for key in CHARTS:
                Live(CHART_VIEWS[key], model.value)


@solara.component
def FormField(key: str, label: str, kind: str, value: str, hint: str, error: str | None, help_text: str,
              on_value: Any):
    if kind == "bool":
        with solara.Column(gap="0px", classes=[f"dealsim-field-{key.replace('.', '-')}"]):
            solara.Select(label, values=["true", "false"], value=value or None, on_value=on_value,
                          classes=[f"dealsim-input-{key.replace('.', '-')}"])
            if error:
                solara.Error(error, classes=["dealsim-field-error"])
            solara.Text(help_text + (f" ({hint})" if hint else ""), style={"font-size": "0.8em", "color": "#555"})
        return
    solara.InputText(label, value=value, on_value=on_value, error=error or False,
                     message=error if error else (help_text + (f" ({hint})" if hint else "")),
                     placeholder=hint or None, hide_details=False,
                     classes=[f"dealsim-input-{key.replace('.', '-')}"])


MODES = ("Retrospective: as Wigan did it, from 2009", "Prospective: start the Deal in a future year")


@solara.component
def AssessPage():
    """Would the Deal work here? Fill in or upload a council's context and run the assessment."""
    councils = council_choices()
    ws = solara.use_memo(Workspace, [])
    solara.use_effect(lambda: ws.cleanup, [])
    choice, set_choice = solara.use_state(next(iter(councils)))
    base_council = solara.use_memo(lambda: load_council(councils[choice]), [choice])
    prefill = solara.use_memo(lambda: field_values(base_council), [choice])
    values, set_values = solara.use_state(prefill[0], key=f"values-{choice}")
    checked, set_checked = solara.use_state(Checked(base_council, {}, None), key=f"checked-{choice}")
    uploaded, set_uploaded = solara.use_state(None)  # (filename, Council) of an uploaded file
    upload_error, set_upload_error = solara.use_state(None)
    runs, set_runs = solara.use_state(AS.APP_SETTINGS["draws"])
    mode, set_mode = solara.use_state(MODES[0])
    start_year, set_start_year = solara.use_state(2027)
    horizon, set_horizon = solara.use_state(2040)
    scale, set_scale = solara.use_state(AS.APP_SETTINGS["scale"])
    progress = solara.use_reactive((0.0, ""))
    result, set_result = solara.use_state(None)
    run_error, set_run_error = solara.use_state(None)
    running = solara.use_reactive(False)
    helps = template_help()

    def on_field(key: str, text: str | None) -> None:
        new = {**values, key: (text or "").strip()}
        set_values(new)
        set_uploaded(None)
        set_checked(check_form(ws, councils[choice], new))

    def on_file(info: Any) -> None:
        council, err = check_upload(ws, info["name"], info["file_obj"].read() if info.get("file_obj") else info["data"])
        set_upload_error(err)
        set_uploaded((info["name"], council) if council is not None else None)

    def target():
        if uploaded is not None:
            return uploaded[1]
        return checked.council

    def work(council) -> None:
        try:
            pro = mode == MODES[1]
            res = AS.run(council, AS.settings(runs, scale, start=start_year if pro else None,
                                              horizon=horizon if pro else None),
                         progress=lambda f, t: progress.set((f, t)))
            set_result(res)
            set_run_error(None)
        except ScenarioError as err:
            set_run_error(str(err).replace(str(ws.root) + "/", "scenarios/"))
        except Exception as err:  # noqa: BLE001 - show it, keep the app alive
            set_run_error(f"the assessment failed: {type(err).__name__}: {err}")
        finally:
            running.set(False)

    def start() -> None:
        council = target()
        if council is None or running.value:
            return
        running.set(True)
        set_result(None)
        progress.set((0.0, "starting"))
        threading.Thread(target=work, args=(council,), daemon=True).start()

    with solara.Column(style={"max-width": "1200px", "padding": "12px"}):
        Md("## Would the Deal work here?\nPick a comparator council to start from, change its figures "
                        "(empty = the default shown), or upload your own council file made from "
                        "`scenarios/councils/TEMPLATE.yaml`. Then run the assessment: business as usual against the "
                        "Deal, from the same chance events.")
        with solara.Row():
            solara.Select("Start from council", values=list(councils), value=choice, on_value=set_choice,
                          classes=["dealsim-council-select"])
        with solara.Card("Or upload a council file (.yaml)"):
            solara.FileDrop(label="Drop a council YAML file here", on_file=on_file, lazy=False)
            if upload_error:
                solara.Error(upload_error, classes=["dealsim-upload-error"])
            elif uploaded is not None:
                solara.Success(f"{uploaded[0]}: read and checked ({uploaded[1].name}); the assessment will use it.")
        with solara.Card("Your council's context (from the template)"):
            if checked.error:
                solara.Error(checked.error, classes=["dealsim-form-error"])
            with solara.GridFixed(columns=2):
                for f in FIELDS:
                    FormField(f.key, f.label, f.kind, values.get(f.key, ""), prefill[1].get(f.key, ""),
                              checked.field_errors.get(f.key), helps.get(f.key, ""),
                              lambda text, k=f.key: on_field(k, text))
        with solara.Card("Run"):
            solara.ToggleButtonsSingle(value=mode, values=list(MODES), on_value=set_mode,
                                       classes=["dealsim-mode"])
            if mode == MODES[1]:
                solara.SliderInt(f"Start the Deal in {start_year}", value=start_year, on_value=set_start_year,
                                 min=2021, max=2040)
                solara.SliderInt(f"Horizon {horizon}", value=horizon, on_value=set_horizon, min=start_year + 3,
                                 max=2060)
                solara.Text("Prospective: from the council's present state (council.present in its file: Census 2021, "
                            "latest revised HLE) to the horizon; the model's 2009-2020 dynamics carried forward.")
            solara.SliderInt(f"Simulations per arm: {runs}", value=runs, on_value=set_runs, min=2, max=40)
            solara.SliderFloat(f"Scale (share of residents simulated): {scale:.2f}", value=scale, on_value=set_scale, min=0.01,
                               max=0.2, step=0.01)
            solara.Text(f"About {1 + runs * 0.8 * scale / 0.03:.0f} s at these settings (the command line's defaults, "
                        "40 x 2 runs at 0.1, take minutes and give tighter ranges).")
            ok = target() is not None and not running.value
            solara.Button("Run the assessment", color="primary", on_click=start, disabled=not ok,
                          classes=["dealsim-run-assessment"])
            if running.value or (0 < progress.value[0] < 1):
                solara.ProgressLinear(value=100 * progress.value[0])
                solara.Text(progress.value[1], classes=["dealsim-progress"])
            if run_error:
                solara.Error(run_error, classes=["dealsim-run-error"])
        if result is not None:
            Results(result)


@solara.component
def Results(r: AS.Result):
    solara.Style(".dealsim-md td, .dealsim-md th {padding: 2px 12px;} .dealsim-md table {margin-bottom: 8px;}")
    with solara.Card(f"Assessment: {r.council}", classes=["dealsim-results"]):
        solara.Text(f"Done in {r.wall_s:.1f} s.", classes=["dealsim-done"])
        Md(r.decision, classes=["dealsim-decision"])
        rows = ["| outcome | period | business as usual | with the Deal | change (likely range) | chance of a gain "
                "| chance of harm |", "|---|---|---:|---:|---:|---:|---:|"]
        for h in r.headline:
            nd = 2 if "share" in h["unit"] else 1
            gain, harm = ("-" if h[k] is None else f"{100 * h[k]:.0f}%" for k in ("chance_of_gain", "chance_of_harm"))
            rows.append(f"| {h['outcome']} ({h['unit']}) | {h['period']} | {AS.fmt(h['business_as_usual'], nd)} | "
                        f"{AS.fmt(h['deal'], nd)} | {AS.fmt(h['change'], nd)} ({AS.fmt(h['q05'], nd)} to "
                        f"{AS.fmt(h['q95'], nd)}) | {gain} | {harm} |")
        Md("### Probability of a gain\n" + "\n".join(rows))
        m = r.money
        pb = m["payback"]
        Md(
            f"### Cost and payback (GBP m, {m['year']}, all years added up, the model's prices, not discounted)\n"
            f"- upfront investment: {AS.fmt(m['investment']['q50'])} ({AS.fmt(m['investment']['q05'])} to "
            f"{AS.fmt(m['investment']['q95'])})\n"
            f"- council tax forgone by the freeze: {AS.fmt(m['tax_forgone']['q50'])}\n"
            f"- savings on care: {AS.fmt(m['care_savings']['q50'])} ({AS.fmt(m['care_savings']['q05'])} to "
            f"{AS.fmt(m['care_savings']['q95'])})\n"
            f"- **net savings: {AS.fmt(m['net']['q50'])} ({AS.fmt(m['net']['q05'])} to {AS.fmt(m['net']['q95'])})**, "
            f"positive in {100 * (m['net']['p_positive'] or 0):.0f}% of simulations\n"
            f"- pays back (discounted) by the end in {100 * (pb['p_positive'] or 0):.0f}% of simulations; middle estimate: "
            f"{pb['q50'] if pb['q50'] is not None else 'after the end'}")
        with solara.Row(style="flex-wrap: wrap"):
            for name in AS.FILES:
                if r.file(name).is_file():
                    solara.FileDownload(lambda name=name: r.file(name).read_bytes(), filename=name,
                                        label=f"Download {name}")
        Md("### Both arms (fan charts)")
        solara.Image(r.file("fan_outcomes.png"), width="100%")
        Md("### What the Deal changes")
        solara.Image(r.file("fan_effects.png"), width="100%")
        Md(r.limits, style="margin-top: 12px")


routes = [
    solara.Route(path="/", component=ExplorePage, label="Explore a run"),
    solara.Route(path="assess", component=AssessPage, label="Assess a council"),
]
