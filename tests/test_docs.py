"""docs/ODD.md stays true to the code: its parameter tables are regenerated from the schema."""

import subprocess
import sys
from pathlib import Path

from model.parameters import SECTIONS, Scenario

ROOT = Path(__file__).resolve().parents[1]


def test_odd_parameter_tables_match_the_schema():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "make_parameter_tables.py"), "--check"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_parameter_is_documented_in_odd():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    for section in SECTIONS:
        cls = Scenario.model_fields[section].annotation
        for name, field in cls.model_fields.items():
            assert f"`{section}.{name}`" in odd, f"{section}.{name} missing from docs/ODD.md"
            extra = field.json_schema_extra or {}
            assert extra.get("unit") and extra.get("source"), f"{section}.{name} lacks a unit or source"


def test_odd_step_order_matches_model_docstring():
    """The 13 steps, by name and in order, are the same in model/model.py's docstring and ODD section 3."""
    import re

    import model.model as mm
    odd = (ROOT / "docs" / "ODD.md").read_text()
    steps = [m.group(2) for m in re.finditer(r"^\s*(\d+)\.\s+(\S+(?: \S+)?)\s{2,}", mm.__doc__, re.M)]
    section = odd[odd.index("One monthly step"):]
    odd_steps = [m.group(2) for m in re.finditer(r"^(\d+)\. \*\*([^*]+)\*\*", section, re.M)][:13]
    assert len(steps) == 13, steps
    assert odd_steps == steps
