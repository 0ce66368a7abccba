"""Component tests of the web app with Solara's own test tools (solara.render, rc.find), no browser.

The browser tests are in test_app_e2e.py."""

from __future__ import annotations

from pathlib import Path

import ipyvuetify as v
import pytest
import solara

from assess.council import load_council
from model.scenario import ScenarioError
from webapp import assess as AS
from webapp.charts import CHARTS, chart_data
from webapp.forms import FIELDS, Workspace, check_form, check_upload, council_yaml, field_values, template_help
from webapp.state import COUNCILS, MODEL_PARAMS, AppModel, Levers, build_scenario, scenario_choices

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ state and charts
def test_scenarios_offered_include_wigan_no_deal_and_every_council():
    labels = scenario_choices()
    assert labels["Wigan (the Deal)"].name == "wigan.yaml"
    assert labels["Wigan without the Deal"].name == "wigan_no_deal.yaml"
    files = {p.name for p in labels.values()}
    for p in COUNCILS.glob("*.yaml"):
        assert p.name == "TEMPLATE.yaml" or p.name in files
    assert MODEL_PARAMS["scenario_name"]["values"] == list(labels)


def test_levers_shift_the_timeline_and_set_the_deal():
    lo = build_scenario("Wigan (the Deal)", Levers(start_year=2015, fidelity=0.5, fund_x=0.5, investment_x=0.0,
                                                  autonomy=0.6))
    d = lo.scenario.deal
    assert (d.pilot_start, d.fund_start, d.launch, d.tax_freeze_from) == ("2015-01", "2016-01", "2017-01", 2017)
    assert (d.fidelity, d.fund_gbp_m, d.care_home_fund_gbp_m, d.permitted_autonomy) == (0.5, 5.0, 0.0, 0.6)
    council = build_scenario("Bolton (the Deal, council file)", Levers(fund_x=1.0))
    assert council.scenario.deal.fund_gbp_m == pytest.approx(10.0 * 276786 / 317849, abs=1e-3)  # per head


def test_app_model_steps_and_charts_fill_with_observed_points():
    m = AppModel(scale=0.02, seed=1)
    assert m.steps == 0 and chart_data(m, "staff").n_simulated == 0
    obs = [s for s in chart_data(m, "hle").series if s.style == "observed"]
    assert obs and len(obs[0].x) >= 5  # Wigan's published HLE points are on the chart before any step
    for _ in range(40):
        m.step()
    for key in CHARTS:
        d = chart_data(m, key)
        assert d.n_simulated > 0, key
        assert d.last_month == "2012-04"
    assert chart_data(m, "hle").n_simulated == 2  # 2009-11 for men and women


# ------------------------------------------------------------------ pages (Solara's test tools)
def _text(rc, cls: str) -> str:
    return "".join(str(c) for c in rc.find(v.Html, class_=cls).widget.children)


def _in_app(page):
    """A page inside Solara's app layout, where its sidebar (Mesa's controls) is rendered."""

    @solara.component
    def App():
        with solara.AppLayout():
            page()

    return App()


def test_explore_page_steps_the_model_and_redraws():
    from webapp.pages import ExplorePage

    box, rc = solara.render(_in_app(ExplorePage), handle_error=False)
    sliders = rc.find(v.Slider).widgets
    assert len(sliders) == 9 and all(w.thumb_label == "always" for w in sliders)  # values shown, not only on drag
    fid = [w for w in sliders if w.label == "Fidelity"][0]
    assert "month 0 of 204" in _text(rc, "dealsim-month")
    assert "0 simulated values" in _text(rc, "dealsim-caption-staff")
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "month 1 of 204 (2009-01)" in _text(rc, "dealsim-month")
    assert "2 simulated values, up to 2009-01" in _text(rc, "dealsim-caption-staff")
    # a lever: set fidelity, then Reset builds the model with it
    fid.v_model = 0.4
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert "fidelity 0.4," in _text(rc, "dealsim-levers")
    assert "month 0 of 204" in _text(rc, "dealsim-month")


def test_a_chart_is_drawn_again_only_when_its_points_change(monkeypatch):
    """A step draws again the charts with monthly points (five) but not those of yearly or 3-year figures that
    the month did not complete (HLE, care-home admissions): drawing is most of what a step costs the app."""
    from matplotlib.figure import Figure

    from webapp.pages import ExplorePage

    drawn: list[str] = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.append(fig.axes[0].get_title()),
                                                                 save(fig, *a, **k))[1])
    box, rc = solara.render(_in_app(ExplorePage), handle_error=False)
    assert len(drawn) == len(CHARTS)
    for _ in range(3):
        drawn.clear()
        rc.find(v.Btn, children=["Step"]).widget.click()
        assert len(drawn) == 5, drawn
        assert not any("healthy life" in t.lower() or "care-home" in t.lower() for t in drawn), drawn


def test_assess_page_shows_validation_next_to_the_field_and_recovers():
    from webapp.pages import AssessPage

    box, rc = solara.render(_in_app(AssessPage), handle_error=False)
    field = rc.find(v.TextField, class_="dealsim-input-population-share_65_plus")
    run = rc.find(v.Btn, children=["Run the assessment"])
    assert not run.widget.disabled
    field.widget.v_model = "1.5"
    field.widget.fire_event("keyup.enter", None)
    field = rc.find(v.TextField, class_="dealsim-input-population-share_65_plus")
    assert field.widget.error is True
    assert list(field.widget.messages) == ["population.share_65_plus: must be at most 1 (got 1.5)"]
    assert rc.find(v.Btn, children=["Run the assessment"]).widget.disabled
    field.widget.v_model = "0.2"
    field.widget.fire_event("keyup.enter", None)
    assert not rc.find(v.Btn, children=["Run the assessment"]).widget.disabled
    field = rc.find(v.TextField, class_="dealsim-input-population-share_65_plus")
    assert field.widget.error is False and "SOURCE" in field.widget.messages[0]  # back to the template's help


# ------------------------------------------------------------------ forms
def test_every_field_has_the_templates_explanation():
    helps = template_help()
    for f in FIELDS:
        assert helps.get(f.key), f"no help text for {f.key}"
    assert "SOURCE" in helps["population.total"]
    assert "Census 2011" in helps["population.share_65_plus"]


def test_form_prefills_own_values_and_leaves_defaults_empty():
    values, hints = field_values(load_council(COUNCILS / "bolton.yaml"))
    assert values["population.total"] == "276786" and values["council.baseline_hle.male"] == "61.3"
    assert values["finance.baseline_budget_gbp_m"] == "" and hints["finance.baseline_budget_gbp_m"].startswith("default: ")


@pytest.mark.parametrize("key,text,message", [
    ("population.share_65_plus", "1.5", "must be at most 1 (got 1.5)"),
    ("population.total", "many", "expected a whole number, got 'many'"),
    ("council.baseline_hle.female", "20", "must be at least 30 (got 20)"),
    ("deal.launch", "2014-13", "expected a month as 'YYYY-MM', got '2014-13'"),
    ("deal.fidelity", "[1", "invalid YAML"),
])
def test_bad_form_values_get_the_command_lines_message_at_their_field(key, text, message):
    ws = Workspace()
    try:
        base = COUNCILS / "bolton.yaml"
        values, _ = field_values(load_council(base))
        ok = check_form(ws, base, values)
        assert ok.council is not None and not ok.field_errors and ok.error is None
        bad = check_form(ws, base, {**values, key: text})
        assert bad.council is None and list(bad.field_errors) == [key], bad
        assert message in bad.field_errors[key]
        # the same file through the command line's reader gives the same message
        text_yaml, _ = council_yaml(base, {**values, key: text})
        path = ws.councils / "cli.yaml"
        path.write_text(text_yaml)
        with pytest.raises(ScenarioError) as exc:
            load_council(path)
        assert exc.value.message in bad.field_errors[key]
    finally:
        ws.cleanup()


def test_uploaded_file_read_like_the_command_line(tmp_path):
    ws = Workspace()
    try:
        good = (COUNCILS / "st_helens.yaml").read_bytes()
        council, err = check_upload(ws, "st_helens.yaml", good)
        assert err is None and council.name == "St Helens"
        bad = b"extends: ../wigan.yaml\nname: x\npopulation:\n  age_sex_table: null\n  total: 1000\n  share_65_plus: 2\n"
        council, err = check_upload(ws, "mine.yaml", bad)
        assert council is None
        assert err == "mine.yaml:6: population.share_65_plus: must be at most 1 (got 2)"
        council, err = check_upload(ws, "notes.txt", b"hello")
        assert council is None and "YAML" in err
    finally:
        ws.cleanup()


# ------------------------------------------------------------------ assessment
def test_assessment_at_the_apps_size_gives_every_part_of_the_answer(tmp_path):
    council = load_council(COUNCILS / "bolton.yaml")
    seen = []
    r = AS.run(council, AS.settings(runs_per_arm=2, scale=0.02), progress=lambda f, t: seen.append(f), out_root=tmp_path)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    for name in ("assessment.json", "report.md", "fan_outcomes.png", "fan_effects.png"):
        assert r.file(name).is_file(), name
    assert set(r.summary) == {"council", "baseline", "arms", "effects", "appraisal"}
    assert r.decision.startswith("## The decision figures") and "Net present value" in r.decision
    assert {h["outcome"] for h in r.headline} >= {"healthy life expectancy, men", "care-home admissions of people 65+"}
    assert all(h["chance_of_gain"] is None or 0 <= h["chance_of_gain"] + h["chance_of_harm"] <= 1 + 1e-9
               for h in r.headline)
    assert {"net", "investment", "payback"} <= set(r.money)
    assert r.limits.startswith("## Limits") and "one borough" in r.limits
    assert r.limits in r.file("report.md").read_text(encoding="utf-8")  # the app's limits are the report's


def test_the_apps_assessments_share_one_kept_cluster_and_give_the_same_answer(tmp_path):
    """The app keeps one local cluster for its life (no worker start per assessment); a second assessment on it
    gives byte-identical figures (keyed runs), and the cluster is the same one."""
    from runs import executor

    council = load_council(COUNCILS / "bolton.yaml")
    s = AS.settings(runs_per_arm=2, scale=0.02)
    first = AS.run(council, s, out_root=tmp_path)
    client = executor.kept(AS.APP_WORKERS)
    second = AS.run(council, s, out_root=tmp_path)
    assert executor.kept(AS.APP_WORKERS) is client and client.status == "running"
    assert len(client.scheduler_info()["workers"]) == AS.APP_WORKERS
    assert first.summary == second.summary


# ------------------------------------------------------------------ command line
def test_app_command_refuses_a_bad_port_in_one_line():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "app", "--port", "70000"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: argument --port: the port must be from 0 to 65535, got 70000 (see 'simulate.py app --help')"]
