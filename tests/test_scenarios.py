"""Tests for model.scenario: the scenario files, inheritance, hashing, overrides and every kind of bad input.

Each bad-input test checks the error's file, key and line, because that is what a user needs to fix it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import textwrap
from pathlib import Path

import pytest
import yaml

from model.parameters import Scenario
from model.scenario import LoadedScenario, ScenarioError, apply_overrides, describe, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
FILES = ["wigan.yaml", "wigan_no_deal.yaml", "england_average.yaml"]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def differing(a: dict, b: dict) -> set[str]:
    fa, fb = flatten(a), flatten(b)
    assert fa.keys() == fb.keys()
    return {k for k in fa if fa[k] != fb[k]}


def error_of(path: Path | str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


# ---------------------------------------------------------------------------------------------
# The shipped scenario files
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FILES)
def test_shipped_scenarios_load_and_validate(name):
    loaded = load_scenario(SCENARIOS / name)
    assert isinstance(loaded, LoadedScenario)
    assert isinstance(loaded.scenario, Scenario)
    assert loaded.scenario.name == name.removesuffix(".yaml")
    assert loaded.resolved == loaded.scenario.model_dump(mode="json")
    assert loaded.path == (SCENARIOS / name).resolve()
    assert loaded.chain[0] == loaded.path


def test_schema_accepts_its_own_resolved_output():
    resolved = load_scenario(SCENARIOS / "wigan.yaml").resolved
    assert Scenario.model_validate(resolved).model_dump(mode="json") == resolved


def test_wigan_is_the_deal_with_its_default_timeline():
    s = load_scenario(SCENARIOS / "wigan.yaml").scenario
    assert s.deal.enabled is True
    assert (s.deal.pilot_start, s.deal.fund_start, s.deal.launch) == ("2012-01", "2013-01", "2014-01")
    assert (s.deal.tax_freeze, s.deal.tax_freeze_from, s.deal.tax_freeze_to) == (True, 2014, 2020)
    assert s.population.age_sex_table == "wigan_census2011_age_sex.csv"
    assert s.context.greater_manchester is True


def test_no_deal_differs_from_wigan_only_in_name_description_and_deal_switch():
    wigan = load_scenario(SCENARIOS / "wigan.yaml")
    no_deal = load_scenario(SCENARIOS / "wigan_no_deal.yaml")
    assert differing(wigan.resolved, no_deal.resolved) == {"name", "description", "deal.enabled"}
    assert no_deal.scenario.deal.enabled is False
    assert no_deal.chain == [(SCENARIOS / "wigan_no_deal.yaml").resolve(), (SCENARIOS / "wigan.yaml").resolve()]
    # provenance follows the file that set the final value
    assert no_deal.provenance["deal.enabled"][0].endswith("wigan_no_deal.yaml")
    assert no_deal.provenance["context.greater_manchester"][0].endswith("wigan.yaml")


def test_england_average_changes_deprivation_devolution_and_mortality_only():
    no_deal = load_scenario(SCENARIOS / "wigan_no_deal.yaml")
    eng = load_scenario(SCENARIOS / "england_average.yaml")
    assert differing(no_deal.resolved, eng.resolved) == {
        "name",
        "description",
        "population.share_lsoas_most_deprived_decile",
        "context.greater_manchester",
        "mortality.modal_age_male",
        "mortality.modal_age_female",
    }
    s = eng.scenario
    assert s.population.share_lsoas_most_deprived_decile == 0.10
    assert (s.mortality.modal_age_male, s.mortality.modal_age_female) == (86.0, 89.0)
    assert s.context.greater_manchester is False and s.deal.enabled is False
    assert s.population.age_sex_table == "wigan_census2011_age_sex.csv"
    assert [p.name for p in eng.chain] == ["england_average.yaml", "wigan_no_deal.yaml", "wigan.yaml"]


# ---------------------------------------------------------------------------------------------
# Hash and describe
# ---------------------------------------------------------------------------------------------
def test_hash_is_sha256_of_canonical_json_and_stable():
    a = load_scenario(SCENARIOS / "wigan.yaml")
    b = load_scenario(SCENARIOS / "wigan.yaml")
    expected = hashlib.sha256(json.dumps(a.resolved, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert a.sha256 == b.sha256 == expected
    assert len({load_scenario(SCENARIOS / f).sha256 for f in FILES}) == 3


def test_hash_ignores_layout_but_not_values(tmp_path):
    one = write(tmp_path, "one.yaml", """
        name: h
        deal: {enabled: true, fidelity: 0.5}
        time: {end: 2020-12}
        """)
    two = write(tmp_path, "two.yaml", """
        # same values, other order and style
        time:
          end: 2020-12
        deal:
          fidelity: 0.50
          enabled: true
        name: h
        """)
    three = write(tmp_path, "three.yaml", """
        name: h
        deal: {enabled: true, fidelity: 0.51}
        time: {end: 2020-12}
        """)
    h1, h2, h3 = (load_scenario(p).sha256 for p in (one, two, three))
    assert h1 == h2
    assert h1 != h3


def test_describe_shows_hash_and_sources_and_reloads_to_the_same_hash(tmp_path):
    loaded = load_scenario(SCENARIOS / "wigan_no_deal.yaml")
    text = describe(loaded)
    assert loaded.sha256 in text
    assert "enabled: false  # flag; set in " in text and "wigan_no_deal.yaml:" in text
    # sections appear in schema order
    positions = [text.index(f"\n{section}:") for section in list(Scenario.model_fields)[2:]]
    assert positions == sorted(positions)
    again = load_scenario(write(tmp_path, "described.yaml", text))
    assert again.resolved == loaded.resolved and again.sha256 == loaded.sha256


# ---------------------------------------------------------------------------------------------
# Inheritance
# ---------------------------------------------------------------------------------------------
def test_extends_list_later_parent_wins_and_mappings_merge_deeply(tmp_path):
    write(tmp_path, "a.yaml", """
        name: a
        deal: {fidelity: 0.2, pilot_share: 0.5}
        community: {grant_taper: [0.4, 0.3, 0.3]}
        """)
    write(tmp_path, "b.yaml", """
        name: b
        deal: {fidelity: 0.3}
        """)
    child = write(tmp_path, "sub/child.yaml", """
        extends: [../a.yaml, ../b.yaml]
        deal:
          enabled: true
        community:
          grant_taper: [1.0]
        """)
    loaded = load_scenario(child)
    s = loaded.scenario
    assert s.name == "b"  # b is applied after a
    assert (s.deal.fidelity, s.deal.pilot_share, s.deal.enabled) == (0.3, 0.5, True)
    assert s.community.grant_taper == [1.0]  # lists are replaced, not merged
    assert [p.name for p in loaded.chain] == ["child.yaml", "b.yaml", "a.yaml"]
    assert loaded.provenance["deal.fidelity"] == (str(tmp_path / "b.yaml"), 2)
    assert loaded.provenance["deal.pilot_share"] == (str(tmp_path / "a.yaml"), 2)
    assert loaded.provenance["community.grant_taper"] == (str(tmp_path / "sub/child.yaml"), 5)
    assert "community.grant_taper[1]" not in loaded.provenance  # the parent's list items went with the list


def test_empty_section_means_no_change(tmp_path):
    write(tmp_path, "parent.yaml", "deal: {enabled: true}\n")
    child = write(tmp_path, "child.yaml", """
        extends: parent.yaml
        deal:
        #  enabled: false
        """)
    assert load_scenario(child).scenario.deal.enabled is True


def test_relative_age_table_is_resolved_beside_the_file_that_set_it(tmp_path):
    table = write(tmp_path, "data/table.csv", "age_band,female,male\n0-4,1,1\n")
    write(tmp_path, "base/parent.yaml", """
        population:
          age_sex_table: ../data/table.csv
        """)
    child = write(tmp_path, "other/child.yaml", "extends: ../base/parent.yaml\nname: c\n")
    assert load_scenario(child).scenario.population.age_sex_table == str(table.resolve())
    bare = write(tmp_path, "bare.yaml", "population: {age_sex_table: my_table.csv}\n")
    assert load_scenario(bare).scenario.population.age_sex_table == "my_table.csv"


# ---------------------------------------------------------------------------------------------
# Bad input: every error names file, key and line
# ---------------------------------------------------------------------------------------------
def test_error_string_format():
    assert str(ScenarioError("must be at most 1 (got 1.5)", "s.yaml", "deal.fidelity", 7)) == (
        "s.yaml:7: deal.fidelity: must be at most 1 (got 1.5)"
    )
    assert str(ScenarioError("no such scenario file", "s.yaml")) == "s.yaml: no such scenario file"
    assert str(ScenarioError("oops", "", "deal", None)) == "deal: oops"
    err = ScenarioError("m", "f.yaml", "k", 3)
    assert (err.file, err.key, err.line, err.message) == ("f.yaml", "k", 3, "m")
    back = pickle.loads(pickle.dumps(err))
    assert (back.file, back.key, back.line, back.message) == ("f.yaml", "k", 3, "m")


def test_malformed_yaml_unclosed_bracket(tmp_path):
    p = write(tmp_path, "bad.yaml", """
        name: x
        deal: {enabled: true, fidelity: 0.5
        time: {start: 2010-01}
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "", 3)
    assert "invalid YAML" in err.message and "'{' opened on line 2" in err.message


def test_unknown_top_level_key(tmp_path):
    p = write(tmp_path, "bad.yaml", """
        name: x
        dael:
          enabled: true
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "dael", 2)
    assert err.message.startswith("unknown key 'dael' (did you mean 'deal'?")
    assert "extends" in err.message and "population" in err.message


def test_unknown_nested_key_typo(tmp_path):
    p = write(tmp_path, "bad.yaml", """
        name: x
        deal:
          enabled: true
          fidelty: 0.5
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "deal.fidelty", 4)
    assert "unknown key 'fidelty'" in err.message and "did you mean 'fidelity'?" in err.message
    assert "allowed: enabled, pilot_start," in err.message
    assert str(err) == f"{p}:4: deal.fidelty: {err.message}"


@pytest.mark.parametrize(
    "value, message",
    [
        ("high", "expected a number, got 'high'"),
        ("yes", "expected a number, got true"),
        ("'0.5'", "expected a number, got '0.5' (remove the quotes)"),
        ("1.5", "must be at most 1 (got 1.5)"),
        ("-0.1", "must be at least 0 (got -0.1)"),
    ],
)
def test_bad_fidelity(tmp_path, value, message):
    p = write(tmp_path, "bad.yaml", f"name: x\ndeal:\n  fidelity: {value}\n")
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "deal.fidelity", 3)
    assert err.message == message


def test_negative_population_total(tmp_path):
    p = write(tmp_path, "bad.yaml", """
        population:
          age_sex_table: null
          share_65_plus: 0.2
          total: -5
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "population.total", 4)
    assert err.message == "must be at least 1 (got -5)"


def test_whole_number_expected(tmp_path):
    p = write(tmp_path, "bad.yaml", "population:\n  wards: 25.0\n")
    err = error_of(p)
    assert (err.key, err.line) == ("population.wards", 2)
    assert err.message == "expected a whole number, got 25.0 (write 25)"


def test_bad_month(tmp_path):
    p = write(tmp_path, "bad.yaml", """
        name: x
        time:
          start: 2009-13
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "time.start", 3)
    assert err.message == "expected a month as 'YYYY-MM', got '2009-13'"


def test_end_before_start_points_at_the_section(tmp_path):
    p = write(tmp_path, "bad.yaml", """
        name: x

        time:
          start: 2015-01
          end: 2010-12
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "time", 3)
    assert err.message == "end (2010-12) is before start (2015-01)"


def test_two_documents_in_one_file(tmp_path):
    p = write(tmp_path, "two.yaml", "name: x\n---\nname: y\n")
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "", 2)
    assert "another one ('---') starts here" in err.message


def test_missing_file(tmp_path):
    p = tmp_path / "nothere.yaml"
    err = error_of(p)
    assert (err.file, err.key, err.line, err.message) == (str(p), "", None, "no such scenario file")
    assert str(err) == f"{p}: no such scenario file"


def test_missing_parent_names_the_child_and_the_extends_line(tmp_path):
    p = write(tmp_path, "child.yaml", """
        name: child
        extends: parent.yaml
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "extends", 2)
    assert "parent scenario 'parent.yaml' not found" in err.message
    assert str(tmp_path / "parent.yaml") in err.message


def test_inheritance_cycle_of_two_files(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    b = write(tmp_path, "b.yaml", "name: b\n\nextends: a.yaml\n")
    err = error_of(a)
    assert (err.file, err.key, err.line) == (str(b), "extends", 3)
    assert err.message == f"inheritance cycle: {a} -> {b} -> {a}"


def test_self_extension(tmp_path):
    a = write(tmp_path, "a.yaml", "name: a\nextends: ./a.yaml\n")
    err = error_of(a)
    assert (err.file, err.key, err.line) == (str(a), "extends", 2)
    assert err.message == f"inheritance cycle: {a} -> {a}"


def test_diamond_inheritance_is_not_a_cycle(tmp_path):
    write(tmp_path, "root.yaml", "deal: {fidelity: 0.4}\n")
    write(tmp_path, "left.yaml", "extends: root.yaml\nname: left\n")
    write(tmp_path, "right.yaml", "extends: root.yaml\ndeal: {enabled: true}\n")
    child = write(tmp_path, "child.yaml", "extends: [left.yaml, right.yaml]\n")
    loaded = load_scenario(child)
    assert (loaded.scenario.name, loaded.scenario.deal.fidelity, loaded.scenario.deal.enabled) == ("left", 0.4, True)


@pytest.mark.parametrize("where", ["top", "value", "key"])
def test_unsafe_tag_is_refused_and_never_runs(tmp_path, where):
    marker = tmp_path / "ran"
    tag = f'!!python/object/apply:os.system ["echo hi > {marker}"]'
    text = {
        "top": f"{tag}\n",
        "value": f"name: x\ndeal:\n  fidelity: {tag}\n",
        "key": f"name: x\n? {tag}\n: 1\n",
    }[where]
    p = write(tmp_path, "evil.yaml", text)
    err = error_of(p)
    assert not marker.exists()
    assert err.file == str(p)
    assert "unsafe or unknown YAML tag '!!python/object/apply:os.system'" in err.message
    expected = {"top": ("", 1), "value": ("deal.fidelity", 3), "key": ("", 2)}[where]
    assert (err.key, err.line) == expected


def test_duplicate_key(tmp_path):
    p = write(tmp_path, "dup.yaml", """
        name: x
        deal:
          enabled: true
          fidelity: 0.5
          enabled: false
        """)
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "deal.enabled", 5)
    assert err.message == "duplicate key 'enabled' (first written on line 3)"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path, text):
    p = tmp_path / "empty.yaml"
    p.write_text(text)
    err = error_of(p)
    assert (err.file, err.key) == (str(p), "")
    assert err.message.startswith("the scenario file is empty")


def test_top_level_list(tmp_path):
    p = write(tmp_path, "list.yaml", "# a list is not a scenario\n- name: x\n- deal: {enabled: true}\n")
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "", 2)
    assert "the top level must be keys and values" in err.message and "got a list" in err.message


@pytest.mark.parametrize(
    "taper, key, message",
    [
        ("[0.5, 0.3, 0.3]", "community.grant_taper", "add up to 1"),
        ("[]", "community.grant_taper", "add up to 1"),
        ("[1.5, -0.5]", "community.grant_taper[0]", "must be at most 1 (got 1.5)"),
        ("half", "community.grant_taper", "expected a list"),
    ],
)
def test_grant_taper_must_be_shares_adding_to_one(tmp_path, taper, key, message):
    p = write(tmp_path, "taper.yaml", f"name: x\ncommunity:\n  grant_taper: {taper}\n")
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), key, 3)
    assert message in err.message


def test_valid_grant_taper_is_accepted(tmp_path):
    p = write(tmp_path, "taper.yaml", "community:\n  grant_taper: [0.4, 0.35, 0.25]\n")
    loaded = load_scenario(p)
    assert loaded.scenario.community.grant_taper == [0.4, 0.35, 0.25]
    assert loaded.resolved["community"]["grant_taper"] == [0.4, 0.35, 0.25]


def test_child_overriding_with_a_bad_value_names_the_child(tmp_path):
    write(tmp_path, "parent.yaml", """
        name: parent
        deal:
          enabled: true
          fidelity: 0.8
        """)
    child = write(tmp_path, "child.yaml", """
        extends: parent.yaml
        name: child

        deal:
          fidelity: 1.5
        """)
    err = error_of(child)
    assert (err.file, err.key, err.line) == (str(child), "deal.fidelity", 5)
    assert err.message == "must be at most 1 (got 1.5)"


def test_bad_value_inherited_from_a_parent_names_the_parent(tmp_path):
    parent = write(tmp_path, "parent.yaml", "name: p\ndeal:\n  pilot_share: 2\n")
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\n")
    err = error_of(child)
    assert (err.file, err.key, err.line) == (str(parent), "deal.pilot_share", 3)


def test_missing_relative_age_table(tmp_path):
    p = write(tmp_path, "s.yaml", "name: x\npopulation:\n  age_sex_table: data/none.csv\n")
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "population.age_sex_table", 3)
    assert err.message.startswith("data file not found: 'data/none.csv'")


def test_bad_extends_value(tmp_path):
    p = write(tmp_path, "s.yaml", "name: x\nextends: {file: a.yaml}\n")
    err = error_of(p)
    assert (err.file, err.key, err.line) == (str(p), "extends", 2)


def test_wrong_type_for_text_and_section(tmp_path):
    p = write(tmp_path, "s.yaml", "name: 2020\n")
    err = error_of(p)
    assert (err.key, err.line, err.message) == ("name", 1, "expected text, got 2020 (put it in quotes)")
    p = write(tmp_path, "t.yaml", "name: x\ndeal: true\n")
    err = error_of(p)
    assert (err.key, err.line) == ("deal", 2)
    assert err.message.startswith("expected a group of keys")


# ---------------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------------
def test_apply_overrides_good():
    base = load_scenario(SCENARIOS / "wigan.yaml")
    before = copy.deepcopy(base.resolved)
    new = apply_overrides(base, {"deal.fidelity": 0.5, "deal.enabled": False})
    assert (new.scenario.deal.fidelity, new.scenario.deal.enabled) == (0.5, False)
    assert differing(base.resolved, new.resolved) == {"deal.fidelity", "deal.enabled"}
    assert base.resolved == before  # the original is untouched
    assert new.sha256 != base.sha256
    assert new.sha256 == hashlib.sha256(json.dumps(new.resolved, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert new.provenance["deal.fidelity"] == ("command line", None)
    assert new.overrides == {"deal.fidelity": 0.5, "deal.enabled": False}
    assert new.chain == base.chain and new.path == base.path


def test_apply_overrides_reads_text_values_as_yaml():
    base = load_scenario(SCENARIOS / "wigan.yaml")
    new = apply_overrides(
        base, {"deal.fidelity": "0.5", "deal.enabled": "false", "name": "2020", "community.grant_taper": "[0.6, 0.4]"}
    )
    s = new.scenario
    assert (s.deal.fidelity, s.deal.enabled, s.name, s.community.grant_taper) == (0.5, False, "2020", [0.6, 0.4])
    same = apply_overrides(base, {"deal.fidelity": 1.0})
    assert same.sha256 == base.sha256


@pytest.mark.parametrize(
    "overrides, key, message",
    [
        ({"deal.fidelty": 0.5}, "deal.fidelty", "unknown key 'fidelty' (did you mean 'fidelity'?"),
        ({"dael.enabled": True}, "dael", "unknown key 'dael'"),
        ({"deal.fidelity.x": 1}, "deal.fidelity.x", "'deal.fidelity' is a single value"),
        ({"deal.fidelity": 1.5}, "deal.fidelity", "must be at most 1 (got 1.5)"),
        ({"deal.fidelity": "high"}, "deal.fidelity", "expected a number, got 'high'"),
        ({"time.end": "2000-01"}, "time", "end (2000-01) is before start (2009-01)"),
        ({"community.grant_taper": [0.5]}, "community.grant_taper", "grant_taper must be non-negative shares that add up to 1"),
    ],
)
def test_apply_overrides_bad(overrides, key, message):
    base = load_scenario(SCENARIOS / "wigan.yaml")
    with pytest.raises(ScenarioError) as info:
        apply_overrides(base, overrides, source="--set")
    err = info.value
    assert (err.file, err.key, err.line) == ("--set", key, None)
    assert err.message.startswith(message)


def test_shipped_files_are_plain_yaml():
    """The shipped files need no tags or custom constructors: PyYAML's own safe loader reads them."""
    for name in FILES:
        data = yaml.safe_load((SCENARIOS / name).read_text())
        assert isinstance(data, dict) and "name" in data


def test_explanations_are_the_comments_above_and_after_each_key(tmp_path):
    from model.yamlfile import explanations

    f = tmp_path / "t.yaml"
    f.write_text(
        "# ------------\n"
        "# a section heading\n"
        "# ------------\n"
        "top:\n"
        "  # the size, in\n"
        "  # persons\n"
        "  size: 3        # more after\n"
        "                 # and its continuation\n"
        "  # unrelated block\n"
        "  plain: 1\n"
        "\n"
        "  pair: {a: 1, b: 2}   # both\n"
        "  bare: 2\n", encoding="utf-8")
    e = explanations(f)
    assert e["top.size"] == "the size, in persons more after and its continuation"
    assert e["top.plain"] == "unrelated block"
    assert e["top.pair.a"] == e["top.pair.b"] == e["top.pair"] == "both"
    assert "top.bare" not in e and e.get("top") is None  # the heading is cut off by its ruler line
