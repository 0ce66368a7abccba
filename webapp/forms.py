"""The council form: the template's fields with its explanations as help text, and validation.

The form's values are written as a council file (``extends:`` the chosen comparator, one line per field) and
read with :func:`assess.council.load_council`, exactly as ``simulate.py assess`` reads a file, so a bad value
gets the command line's message; the message is shown next to the field whose key (or line) it names.
An uploaded council file is read the same way, beside links to the real scenarios so its ``extends:`` works.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from assess.council import Council, load_council
from model import yamlfile
from model.scenario import ScenarioError

from .state import COUNCILS, SCENARIOS

TEMPLATE = COUNCILS / "TEMPLATE.yaml"


@dataclass(frozen=True)
class Field:
    key: str          # dotted key in the council file
    label: str
    kind: str = "number"  # "number", "text", "bool"


# The template's inputs, in its order (council: first). Left empty = the file's own value or the default.
FIELDS: list[Field] = [
    Field("council.display_name", "Council name", "text"),
    Field("council.baseline_hle.male", "Baseline healthy life expectancy, men (years)"),
    Field("council.baseline_hle.female", "Baseline healthy life expectancy, women (years)"),
    Field("population.total", "Population (persons)"),
    Field("population.share_65_plus", "Share aged 65+ (0-1)"),
    Field("population.share_lsoas_most_deprived_decile", "Share of small areas in England's most deprived 10% (0-1)"),
    Field("context.greater_manchester", "In Greater Manchester", "bool"),
    Field("finance.baseline_budget_gbp_m", "Net revenue budget 2010/11 (GBP m a year)"),
    Field("finance.savings_required_gbp_m", "Savings required by the end of the cuts (GBP m a year)"),
    Field("finance.council_tax_gbp_m", "Council tax raised 2010/11 (GBP m a year)"),
    Field("finance.workforce_baseline", "Council workforce (headcount)"),
    Field("staff.per_1000_residents", "Practitioners per 1,000 residents"),
    Field("community.groups_per_1000", "Community groups per 1,000 residents"),
    Field("deal.launch", "Deal: public launch (YYYY-MM)", "text"),
    Field("deal.fidelity", "Deal: fidelity (0-1)"),
    Field("deal.fund_gbp_m", "Deal: community investment fund (GBP m)"),
]
FIELD_KEYS = [f.key for f in FIELDS]


@lru_cache(maxsize=1)
def template_help() -> dict[str, str]:
    """Dotted key -> the template's explanation (its comments, read by the one YAML reader)."""
    if not TEMPLATE.is_file():
        return {}
    return yamlfile.explanations(TEMPLATE, what="council template")


def _get(d: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def field_values(council: Council) -> tuple[dict[str, str], dict[str, str]]:
    """The form prefilled from a council: (values the council's file sets, placeholders showing the defaults).

    A field the file leaves out stays empty, so it keeps its default (Wigan's value, or per resident for money);
    its placeholder shows that default's value."""
    res = council.loaded.resolved
    inputs = council.inputs.model_dump(mode="json")
    values: dict[str, str] = {}
    hints: dict[str, str] = {}
    for f in FIELDS:
        if f.key.startswith("council."):
            v = _get({"council": inputs}, f.key)
            own = v is not None
        else:
            v = _get(res, f.key)
            own = f.key in council.local_keys
        text = "" if v is None else ("true" if v is True else "false" if v is False else str(v))
        values[f.key] = text if own else ""
        hints[f.key] = "" if own else (f"default: {text}" if text else "default: not given")
    return values, hints


class Workspace:
    """A temporary folder laid out like ``scenarios/`` (links to the real files) for forms and uploads."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dealsim-app-"))
        self.councils = self.root / "councils"
        self.councils.mkdir()
        for p in SCENARIOS.glob("*.yaml"):
            _link(p, self.root / p.name)
        for p in COUNCILS.glob("*"):
            _link(p, self.councils / p.name)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _link(src: Path, dst: Path) -> None:
    try:
        os.symlink(src, dst)
    except OSError:  # pragma: no cover - no symlinks (Windows without privilege): copy
        shutil.copy(src, dst)


def _yaml_text(value: str, kind: str) -> str:
    v = value.strip()
    if kind == "text":
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v


def council_yaml(base: Path, values: dict[str, str]) -> tuple[str, dict[int, str]]:
    """A council file extending ``base`` with every non-empty field; returns (text, line -> field key)."""
    lines = [f"extends: {base.name}", f"name: {re.sub(r'[^a-z0-9_]+', '_', base.stem.lower())}_app"]
    where: dict[int, str] = {}
    tree: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for f in FIELDS:
        v = values.get(f.key, "")
        if str(v).strip() == "":
            continue
        parts = f.key.split(".")
        sec, rest = parts[0], parts[1:]
        sub = rest[0] if len(rest) == 2 else ""
        tree.setdefault(sec, {}).setdefault(sub, []).append((rest[-1], f.key))
    for sec, subs in tree.items():
        lines.append(f"{sec}:")
        for sub, items in subs.items():
            pad = "  "
            if sub:
                lines.append(f"  {sub}:")
                where[len(lines)] = items[0][1]
                pad = "    "
            for name, key in items:
                kind = next(f.kind for f in FIELDS if f.key == key)
                lines.append(f"{pad}{name}: {_yaml_text(values[key], kind)}")
                where[len(lines)] = key
    return "\n".join(lines) + "\n", where


@dataclass
class Checked:
    council: Council | None
    field_errors: dict[str, str]
    error: str | None   # a problem not tied to one field (shown above the form)


def _field_for(err: ScenarioError, where: dict[int, str]) -> str | None:
    key = err.key
    if key in FIELD_KEYS:
        return key
    # a whole section (council.baseline_hle) or a value inside a field's key
    for f in FIELD_KEYS:
        if key and (f.startswith(key + ".") or key.startswith(f + ".") or key.startswith(f + "[")):
            return f
    if err.line is not None and err.line in where:
        return where[err.line]
    return None


def check_form(ws: Workspace, base: Path, values: dict[str, str]) -> Checked:
    """Write the form as a council file and read it like the command line does."""
    text, where = council_yaml(base, values)
    path = ws.councils / "your_council.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        council = load_council(path)
    except ScenarioError as err:
        f = _field_for(err, where) if os.path.realpath(err.file or path) == os.path.realpath(path) or not err.file else None
        msg = ": ".join(p for p in (err.key, err.message) if p)
        if f is None:
            return Checked(None, {}, str(err).replace(str(ws.root) + os.sep, "scenarios/"))
        return Checked(None, {f: msg}, None)
    return Checked(council, {}, None)


def check_upload(ws: Workspace, filename: str, data: bytes) -> tuple[Council | None, str | None]:
    """An uploaded council file: (council, None) or (None, the command line's one-line message)."""
    name = Path(filename).name or "uploaded.yaml"
    if not name.endswith((".yaml", ".yml")):
        return None, f"{name}: a council file is a YAML file ending in .yaml (see scenarios/councils/TEMPLATE.yaml)"
    path = ws.councils / ("upload_" + name)
    path.write_bytes(data)
    try:
        return load_council(path), None
    except ScenarioError as err:
        parts = [f"{name}:{err.line}" if err.line is not None and err.file.endswith(path.name) else
                 (name if err.file.endswith(path.name) else err.file.replace(str(ws.root) + os.sep, "scenarios/")),
                 err.key, err.message]
        return None, ": ".join(p for p in parts if p)
