"""Scenario files: safe YAML reading, inheritance (``extends``), validation against the schema, hashing.

A scenario file is YAML whose keys are the sections and parameters of :class:`model.parameters.Scenario`.
A file states only what differs from the schema defaults, or from the file(s) it ``extends``::

    extends: wigan.yaml          # or a list, applied in order: later ones override earlier ones
    name: wigan_no_deal
    deal:
      enabled: false

Every problem is reported as a :class:`ScenarioError` whose ``str()`` is one line a non-programmer can act on,
``"{file}:{line}: {key}: {message}"``, e.g.
``scenarios/x.yaml:7: deal.fidelity: must be at most 1 (got 1.5)``.

The YAML is composed into a node tree with PyYAML's *safe* loader and converted to plain data here, so no tag
can construct a Python object (``!!python/...`` is refused, never executed), duplicate keys are refused, and the
file and line of every key is kept to point validation errors at the line the user wrote.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from . import yamlfile
from .parameters import Scenario
from .yamlfile import InputError, Provenance

__all__ = [
    "ScenarioError",
    "LoadedScenario",
    "load_scenario",
    "apply_overrides",
    "describe",
    "canonical_hash",
]


_EXTENDS = "extends"
_TABLE_KEY = ("population", "age_sex_table")


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
ScenarioError = InputError  # the one error type of every file a user writes (model/yamlfile.py)


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where it came from.

    ``resolved`` is ``scenario.model_dump(mode="json")`` (every default filled in); ``sha256`` is the hash of its
    canonical JSON; ``chain`` lists the files it was built from, child first (a file overrides those after it).
    ``provenance`` maps each dotted key that a file (or an override) set to ``(file, line)``; ``overrides`` are
    the values set by :func:`apply_overrides`, by dotted key.
    """

    path: Path
    scenario: Scenario
    resolved: dict
    sha256: str
    chain: list[Path]
    provenance: Provenance = field(default_factory=dict, repr=False, compare=False)
    overrides: dict[str, Any] = field(default_factory=dict)


def canonical_hash(resolved: dict) -> str:
    """SHA-256 hex of ``json.dumps(resolved, sort_keys=True, separators=(",", ":"))``."""
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_yaml(path: Path, display: str) -> tuple[dict, Provenance]:
    data, prov, _ = yamlfile.read(path, display, what="scenario file", example="name: my_scenario")
    return data, prov


# ---------------------------------------------------------------------------------------------
# Inheritance
# ---------------------------------------------------------------------------------------------
def drop_provenance(prov: Provenance, path: str) -> None:
    """Forget where `path` and everything under it was set."""
    for k in [k for k in prov if k == path or k.startswith(path + ".") or k.startswith(path + "[")]:
        del prov[k]


def _merge(base: dict, base_prov: Provenance, over: dict, over_prov: Provenance, prefix: str = "") -> None:
    """Deep-merge ``over`` into ``base`` in place: mappings merge, anything else replaces."""
    for key, value in over.items():
        kpath = yamlfile.join(prefix, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], base_prov, value, over_prov, kpath)
            if kpath in over_prov:
                base_prov[kpath] = over_prov[kpath]
        else:
            base[key] = copy.deepcopy(value)
            drop_provenance(base_prov, kpath)
            for k, v in over_prov.items():
                if k == kpath or k.startswith(kpath + ".") or k.startswith(kpath + "["):
                    base_prov[k] = v


def _display_parent(child_display: str, ref: str) -> str:
    ref = os.path.expanduser(ref)
    if os.path.isabs(ref):
        return os.path.normpath(ref)
    return os.path.normpath(os.path.join(os.path.dirname(child_display), ref))


def _resolve_table_path(data: dict, prov: Provenance, base_dir: Path, display: str) -> None:
    """Make a ``population.age_sex_table`` given with a slash absolute (relative to ``base_dir``); check it exists."""
    pop = data.get(_TABLE_KEY[0])
    if not isinstance(pop, dict):
        return
    value = pop.get(_TABLE_KEY[1])
    if not isinstance(value, str) or not ("/" in value or os.sep in value):
        return  # bare names are looked up in model/data by the model; wrong types are left to validation
    key = ".".join(_TABLE_KEY)
    where = prov.get(key, (display, None))
    target = Path(os.path.expanduser(value))
    if not target.is_absolute():
        target = base_dir / target
    target = Path(os.path.normpath(target))
    if not target.is_file():
        raise ScenarioError(f"data file not found: {value!r} (looked for {target})", where[0], key, where[1])
    pop[_TABLE_KEY[1]] = str(target)


def _sections_to_mappings(data: dict) -> None:
    """A section written with nothing under it (``deal:`` with every line commented out) means "no change"."""
    for name, f in Scenario.model_fields.items():
        if name in data and data[name] is None and isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            data[name] = {}


def read_tree(path: Path, display: str) -> tuple[dict, Provenance, list[Path]]:
    """A file and the files it extends, merged (child wins), with provenance and the chain of files, child first."""
    order: list[Path] = []
    data, prov = _load_tree(path, display, [], order)
    return data, prov, list(reversed(order))


def _load_tree(path: Path, display: str, stack: list[tuple[Path, str]], order: list[Path]) -> tuple[dict, Provenance]:
    """Resolve one file and its parents into merged plain data and provenance."""
    real = path.resolve()
    data, prov = _read_yaml(path, display)
    _sections_to_mappings(data)
    _resolve_table_path(data, prov, real.parent, display)

    refs = data.pop(_EXTENDS, None)
    ext_line = prov.pop(_EXTENDS, (display, None))[1]
    if refs is None:
        refs_list: list[tuple[str, int | None]] = []
    elif isinstance(refs, str):
        refs_list = [(refs, ext_line)]
    elif isinstance(refs, list) and all(isinstance(r, str) for r in refs):
        refs_list = [(r, prov.get(f"{_EXTENDS}[{i}]", (display, ext_line))[1]) for i, r in enumerate(refs)]
    else:
        raise ScenarioError(
            "expected a file name (like 'extends: wigan.yaml') or a list of file names", display, _EXTENDS, ext_line
        )
    drop_provenance(prov, _EXTENDS)

    merged: dict = {}
    merged_prov: Provenance = {}
    stack = stack + [(real, display)]
    for ref, line in refs_list:
        if not ref.strip():
            raise ScenarioError("'extends' names an empty file name", display, _EXTENDS, line)
        parent_display = _display_parent(display, ref)
        parent = Path(os.path.expanduser(ref))
        if not parent.is_absolute():
            parent = path.parent / parent
        parent_real = parent.resolve()
        seen = [r for r, _ in stack]
        if parent_real in seen:
            cycle = [d for _, d in stack[seen.index(parent_real):]] + [parent_display]
            raise ScenarioError("inheritance cycle: " + " -> ".join(cycle), display, _EXTENDS, line)
        if not parent.is_file():
            why = "is a folder, not a scenario file" if parent.is_dir() else "not found"
            raise ScenarioError(f"parent scenario {ref!r} {why} (looked for {parent_display})", display, _EXTENDS, line)
        pdata, pprov = _load_tree(parent, parent_display, stack, order)
        _merge(merged, merged_prov, pdata, pprov)
    _merge(merged, merged_prov, data, prov)
    if real in order:
        order.remove(real)
    order.append(real)
    return merged, merged_prov


# ---------------------------------------------------------------------------------------------
# Validation and plain-language errors
# ---------------------------------------------------------------------------------------------
def _validate(data: dict) -> tuple[Scenario | None, list[dict]]:
    """Validate strictly (YAML already carries types: a quoted '0.5' or 'yes' for a number is refused)."""
    try:
        return Scenario.model_validate(data, strict=True), []
    except ValidationError as exc:
        return None, list(exc.errors(include_url=False))


def _to_error(errors: list[dict], prov: Provenance, default_file: str) -> ScenarioError:
    return yamlfile.from_validation(errors, prov, default_file, Scenario, extra_top=(_EXTENDS,))


def validated(data: dict, prov: Provenance, display: str) -> Scenario:
    """The scenario schema applied to merged data; ScenarioError naming the file, key and line otherwise."""
    scenario, errors = _validate(data)
    if errors:
        raise _to_error(errors, prov, display)
    assert scenario is not None
    return scenario


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The schema class holding the field at ``loc`` (a tuple of section names), or None."""
    cls: type[BaseModel] = Scenario
    for part in loc:
        f = cls.model_fields.get(part) if isinstance(part, str) else None
        if f is None or not (isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)):
            return None
        cls = f.annotation
    return cls


def loaded_from(path: Path, scenario: Scenario, chain: list[Path], prov: Provenance,
                overrides: dict[str, Any]) -> LoadedScenario:
    """A LoadedScenario for a validated scenario, its file, the chain of files it was built from and provenance."""
    resolved = scenario.model_dump(mode="json")
    return LoadedScenario(
        path=path, scenario=scenario, resolved=resolved, sha256=canonical_hash(resolved), chain=chain,
        provenance=prov, overrides=overrides,
    )


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------
def load_scenario(path: str | os.PathLike[str]) -> LoadedScenario:
    """Read, merge (``extends``) and validate a scenario file; raise :class:`ScenarioError` on any problem."""
    display = os.fspath(path)
    p = Path(os.path.expanduser(display))
    order: list[Path] = []
    data, prov = _load_tree(p, display, [], order)
    scenario, errors = _validate(data)
    if errors:
        raise _to_error(errors, prov, display)
    assert scenario is not None
    return loaded_from(p.resolve(), scenario, list(reversed(order)), prov, {})


def _field_accepts_str(parts: list[str]) -> bool:
    owner = _model_at(tuple(parts[:-1]))
    f = owner.model_fields.get(parts[-1]) if owner is not None else None
    if f is None:
        return False
    ann = f.annotation
    if ann is str:
        return True
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return str in typing.get_args(ann)
    return False


def _parse_text_value(text: str) -> Any:
    """Read a command-line value as a YAML value ('0.5' -> 0.5, 'false' -> False, '[0.4, 0.3, 0.3]' -> list)."""
    try:
        return yamlfile.value(text)
    except (yaml.YAMLError, ScenarioError):
        return text


def apply_overrides(loaded: LoadedScenario, overrides: dict[str, Any], source: str = "command line") -> LoadedScenario:
    """Set dotted keys (``{"deal.fidelity": 0.5}``) on a copy of the resolved scenario and re-validate.

    A value given as text is read as YAML when the parameter is not itself text, so ``"0.5"``, ``"false"`` and
    ``"[0.4, 0.3, 0.3]"`` from a command line work. A mapping given for a section is merged into it. A
    ``population.age_sex_table`` with a slash is taken relative to the current folder. Problems raise
    :class:`ScenarioError` with ``file=source``.
    """
    data = copy.deepcopy(loaded.resolved)
    prov: Provenance = dict(loaded.provenance)
    applied: dict[str, Any] = {}
    for dotted, value in overrides.items():
        parts = [p.strip() for p in str(dotted).split(".")]
        if not dotted or any(not p for p in parts):
            raise ScenarioError("expected a dotted key such as 'deal.fidelity'", source, str(dotted))
        node: Any = data
        for i, part in enumerate(parts):
            here = ".".join(parts[: i + 1])
            if not isinstance(node, dict) or part not in node:
                owner = _model_at(tuple(parts[:i]))
                if owner is None:
                    raise ScenarioError(f"{'.'.join(parts[:i])!r} is a single value, not a section", source, here)
                raise ScenarioError(yamlfile.plain_message({"type": "extra_forbidden", "loc": tuple(parts[: i + 1])}, Scenario,
                                                             (_EXTENDS,)), source, here)
            if i < len(parts) - 1:
                node = node[part]
        if isinstance(value, str) and not _field_accepts_str(parts):
            value = _parse_text_value(value)
        last = parts[-1]
        if isinstance(value, dict) and isinstance(node[last], dict):
            sub_prov = {}
            _merge(node[last], sub_prov, copy.deepcopy(value), {}, "")
        else:
            node[last] = copy.deepcopy(value)
        key = ".".join(parts)
        drop_provenance(prov, key)
        prov[key] = (source, None)
        applied[key] = value
    if any(k == "population" or k == ".".join(_TABLE_KEY) for k in applied):
        _resolve_table_path(data, prov, Path.cwd(), source)
    scenario, errors = _validate(data)
    if errors:
        err = _to_error(errors, {}, source)
        raise ScenarioError(err.message, source, err.key, None)
    assert scenario is not None
    return loaded_from(loaded.path, scenario, list(loaded.chain), prov, {**loaded.overrides, **applied})


def _yaml_value(v: Any) -> str:
    text = yaml.safe_dump(v, default_flow_style=True, width=10_000, allow_unicode=True).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    elif text.endswith("..."):
        text = text[:-3].strip()
    return text


def _rel(p: Path) -> str:
    try:
        return os.path.relpath(p)
    except ValueError:  # pragma: no cover - different drive on Windows
        return str(p)


def describe(loaded: LoadedScenario) -> str:
    """The resolved parameters as YAML (sections in schema order), each with its unit and where it was set.

    The output is itself a valid scenario file giving the same resolved values (and hash).
    """
    s = loaded.scenario
    prov = loaded.provenance
    lines = [
        f"# scenario: {s.name}",
        f"# file: {_rel(loaded.path)}",
        f"# built from (child first): {', '.join(_rel(p) for p in loaded.chain)}",
    ]
    if loaded.overrides:
        lines.append("# overrides: " + ", ".join(f"{k}={_yaml_value(v)}" for k, v in loaded.overrides.items()))
    lines.append(f"# sha256: {loaded.sha256}")
    lines.append("# Each parameter: value  # unit; 'set in FILE:LINE' if a scenario file or override set it, else the default.")

    def where(key: str) -> str:
        hit = prov.get(key)
        if hit is None:
            return "default"
        file, line = hit
        return f"set in {file}" + ("" if line is None else f":{line}")

    for name in Scenario.model_fields:
        value = loaded.resolved[name]
        if not isinstance(value, dict):
            lines.append(f"{name}: {_yaml_value(value)}  # {where(name)}")
            continue
        lines.append(f"{name}:")
        cls = _model_at((name,))
        for key, v in value.items():
            f = cls.model_fields.get(key) if cls is not None else None
            unit = (f.json_schema_extra or {}).get("unit", "") if f is not None and isinstance(f.json_schema_extra, dict) else ""
            note = "; ".join(x for x in (unit, where(f"{name}.{key}")) if x)
            lines.append(f"  {key}: {_yaml_value(v)}  # {note}")
    return "\n".join(lines) + "\n"
