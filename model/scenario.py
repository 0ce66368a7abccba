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
import difflib
import hashlib
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .parameters import CommunityParams, Scenario

__all__ = [
    "ScenarioError",
    "LoadedScenario",
    "load_scenario",
    "apply_overrides",
    "describe",
    "canonical_hash",
]

Provenance = dict[str, tuple[str, int | None]]  # dotted key path -> (file as displayed, 1-based line)

_MAX_NODES = 100_000  # guard against alias bombs ("billion laughs")
_EXTENDS = "extends"
_TABLE_KEY = ("population", "age_sex_table")


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
class ScenarioError(Exception):
    """A problem with a scenario, located in a file, at a key and a line where known.

    ``str(err)`` is one line: ``"{file}:{line}: {key}: {message}"``, leaving out the parts that are unknown.
    """

    def __init__(self, message: str, file: str | os.PathLike[str] | None = None, key: str = "", line: int | None = None):
        self.file = "" if file is None else str(file)
        self.key = key
        self.line = line
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file
        if self.file and self.line is not None:
            where = f"{self.file}:{self.line}"
        parts = [p for p in (where, self.key, self.message) if p]
        return ": ".join(parts)

    def __reduce__(self) -> tuple:  # keep the parts when passed between processes
        return (type(self), (self.message, self.file, self.key, self.line))

    def __repr__(self) -> str:
        return f"ScenarioError(file={self.file!r}, key={self.key!r}, line={self.line!r}, message={self.message!r})"


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


# ---------------------------------------------------------------------------------------------
# Safe YAML reading with line numbers
# ---------------------------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``3e5`` as a number (YAML 1.1 otherwise needs a dot: ``3.0e5``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_Y = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_Y + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MAP_TAGS = {_Y + "map"}
_SEQ_TAGS = {_Y + "seq"}


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_Y):] if tag.startswith(_Y) else tag


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _check_tag(node: yaml.Node, file: str, path: str) -> None:
    ok = (
        (isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS)
        or (isinstance(node, yaml.MappingNode) and node.tag in _MAP_TAGS)
        or (isinstance(node, yaml.SequenceNode) and node.tag in _SEQ_TAGS)
    )
    if not ok:
        raise ScenarioError(
            f"unsafe or unknown YAML tag {_show_tag(node.tag)!r}: only plain values, lists and mappings are allowed",
            file, path, node.start_mark.line + 1,
        )


class _Builder:
    """Turns a composed YAML node tree into plain data, recording the line of every key and list item."""

    def __init__(self, file: str, loader: _Loader):
        self.file = file
        self.loader = loader
        self.prov: Provenance = {}
        self.count = 0
        self.active: set[int] = set()

    def fail(self, message: str, key: str, node: yaml.Node) -> ScenarioError:
        return ScenarioError(message, self.file, key, node.start_mark.line + 1)

    def build(self, node: yaml.Node, path: str) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise self.fail(f"the file is too large (more than {_MAX_NODES:,} values, perhaps through YAML aliases)", path, node)
        if id(node) in self.active:
            raise self.fail("a YAML alias refers to a value that contains itself", path, node)
        _check_tag(node, self.file, path)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
            return self.sequence(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        if node.tag == _Y + "timestamp":
            return node.value  # keep dates as written: '2014-01-01' is then reported as "expected a month as 'YYYY-MM'"
        try:
            return self.loader.yaml_constructors[node.tag](self.loader, node)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            raise self.fail(f"cannot read {node.value!r} as {_show_tag(node.tag)} ({exc})", path, node) from None

    def mapping(self, node: yaml.MappingNode, path: str) -> dict:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _Y + "merge":
                raise self.fail("YAML merge keys ('<<') are not supported; use 'extends: other.yaml' instead", path, key_node)
            _check_tag(key_node, self.file, path)
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail("a key must be a plain name, not a list or mapping", path, key_node)
            key = str(key_node.value)  # the text as written: 'no:' or '2014:' stay names, not booleans or numbers
            kpath = _join(path, key)
            line = key_node.start_mark.line + 1
            if key in out:
                raise ScenarioError(f"duplicate key {key!r} (first written on line {first_line[key]})", self.file, kpath, line)
            first_line[key] = line
            self.prov[kpath] = (self.file, line)
            out[key] = self.build(value_node, kpath)
        return out

    def sequence(self, node: yaml.SequenceNode, path: str) -> list:
        out = []
        for i, item in enumerate(node.value):
            ipath = f"{path}[{i}]"
            self.prov[ipath] = (self.file, item.start_mark.line + 1)
            out.append(self.build(item, ipath))
        return out


def _read_yaml(path: Path, display: str) -> tuple[dict, Provenance]:
    """Read one file into (plain mapping, provenance of every key and list item)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError("no such scenario file", display) from None
    except IsADirectoryError:
        raise ScenarioError("is a folder, not a scenario file", display) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not readable as UTF-8 text ({exc.reason} at byte {exc.start})", display) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario file ({exc.strerror or exc})", display) from None

    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _yaml_error(exc, display, text) from None
        except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
            raise ScenarioError(f"invalid YAML: {exc}", display) from None
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _Y + "null"):
            raise ScenarioError("the scenario file is empty (expected keys such as 'name: my_scenario')", display, "", 1)
        _check_tag(node, display, "")
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else f"the single value {node.value!r}"
            raise ScenarioError(
                f"the top level must be keys and values (like 'name: my_scenario'), got {kind}", display, "", node.start_mark.line + 1
            )
        builder = _Builder(display, loader)
        data = builder.build(node, "")
        return data, builder.prov
    finally:
        loader.dispose()


def _yaml_error(exc: yaml.MarkedYAMLError, display: str, text: str) -> ScenarioError:
    n_lines = max(1, len(text.splitlines()))
    mark = exc.problem_mark or exc.context_mark
    line = None if mark is None else min(mark.line + 1, n_lines)
    problem = (exc.problem or "syntax error").replace("'<stream end>'", "the end of the file")
    if problem == "but found another document":
        return ScenarioError("a scenario file holds one YAML document, but another one ('---') starts here", display, "", line)
    msg = f"invalid YAML: {problem}"
    context = exc.context or ""
    brackets = {"while parsing a flow mapping": "'{'", "while parsing a flow sequence": "'['"}
    if context in brackets and exc.context_mark is not None:
        msg += f" (the {brackets[context]} opened on line {exc.context_mark.line + 1} is not closed properly)"
    elif context and exc.context_mark is not None:
        msg += f" ({context} started on line {exc.context_mark.line + 1})"
    elif context:
        msg += f" ({context})"
    if "\\t" in (exc.problem or ""):
        msg += "; indent with spaces, not tabs"
    return ScenarioError(msg, display, "", line)


# ---------------------------------------------------------------------------------------------
# Inheritance
# ---------------------------------------------------------------------------------------------
def _drop_prov(prov: Provenance, path: str) -> None:
    for k in [k for k in prov if k == path or k.startswith(path + ".") or k.startswith(path + "[")]:
        del prov[k]


def _merge(base: dict, base_prov: Provenance, over: dict, over_prov: Provenance, prefix: str = "") -> None:
    """Deep-merge ``over`` into ``base`` in place: mappings merge, anything else replaces."""
    for key, value in over.items():
        kpath = _join(prefix, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], base_prov, value, over_prov, kpath)
            if kpath in over_prov:
                base_prov[kpath] = over_prov[kpath]
        else:
            base[key] = copy.deepcopy(value)
            _drop_prov(base_prov, kpath)
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
    _drop_prov(prov, _EXTENDS)

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
def _taper_schema_is_broken() -> bool:
    """``grant_taper`` carries number bounds (ge/le) meant for its items; pydantic then refuses any list given.

    Until model/parameters.py is fixed, the loader checks ``community.grant_taper`` itself and sets it after
    validation. Detected at import, so the workaround switches itself off once the schema is fixed.
    """
    try:
        CommunityParams.model_validate({"grant_taper": [0.5, 0.3, 0.2]}, strict=True)
    except TypeError:
        return True
    except ValidationError:  # pragma: no cover
        return False
    return False


_TAPER_BROKEN = _taper_schema_is_broken()
_MISSING = object()


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_taper(value: Any) -> list[dict]:
    """The checks the schema means for ``community.grant_taper``, as pydantic-style error dicts."""
    loc = ("community", "grant_taper")
    if not isinstance(value, list):
        return [{"type": "list_type", "loc": loc, "msg": "", "input": value}]
    for i, x in enumerate(value):
        if not _is_number(x):
            return [{"type": "float_type", "loc": loc + (i,), "msg": "", "input": x}]
        if x < 0:
            return [{"type": "greater_than_equal", "loc": loc + (i,), "msg": "", "input": x, "ctx": {"ge": 0}}]
        if x > 1:
            return [{"type": "less_than_equal", "loc": loc + (i,), "msg": "", "input": x, "ctx": {"le": 1}}]
    if not value or abs(sum(value) - 1.0) > 1e-6:
        total = _num(sum(value)) if value else "nothing"
        return [{"type": "value_error", "loc": loc, "msg": f"Value error, grant_taper must be non-negative shares that add up to 1 (these add up to {total})", "input": value}]
    return []


def _validate(data: dict) -> tuple[Scenario | None, list[dict]]:
    """Validate strictly (YAML already carries types: a quoted '0.5' or 'yes' for a number is refused)."""
    taper = _MISSING
    if _TAPER_BROKEN and isinstance(data.get("community"), dict) and "grant_taper" in data["community"]:
        data = copy.deepcopy(data)
        taper = data["community"].pop("grant_taper")
        errors = _check_taper(taper)
        if errors:
            return None, errors
    try:
        scenario = Scenario.model_validate(data, strict=True)
    except ValidationError as exc:
        return None, list(exc.errors(include_url=False))
    if taper is not _MISSING:
        community = scenario.community.model_copy(update={"grant_taper": [float(x) for x in taper]})
        scenario = scenario.model_copy(update={"community": community})
    return scenario, []


def _num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def _show(x: Any) -> str:
    """A value as the user wrote it, in YAML terms."""
    if x is None:
        return "nothing (null)"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        return repr(x)
    if isinstance(x, str):
        return repr(x if len(x) <= 60 else x[:57] + "...")
    if isinstance(x, list):
        return "a list"
    if isinstance(x, dict):
        return "a group of keys (mapping)"
    return repr(x)


def _looks_like(text: str, kind: type) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The schema class holding the field at ``loc`` (a tuple of keys), or None."""
    cls: type[BaseModel] = Scenario
    for part in loc:
        f = cls.model_fields.get(part) if isinstance(part, str) else None
        if f is None or not (isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)):
            return None
        cls = f.annotation
    return cls


def _plain_message(err: dict) -> str:
    t = err.get("type", "")
    x = err.get("input")
    ctx = err.get("ctx") or {}
    loc = tuple(err.get("loc", ()))
    if t == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        owner = _model_at(loc[:-1])
        allowed = list(owner.model_fields) if owner is not None else []
        if owner is Scenario:
            allowed.append(_EXTENDS)
        guess = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        return f"unknown key {name!r} ({hint}allowed: {', '.join(allowed)})"
    if t in ("float_type", "float_parsing", "finite_number"):
        tip = " (remove the quotes)" if isinstance(x, str) and _looks_like(x, float) else ""
        return f"expected a number, got {_show(x)}{tip}"
    if t in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(x, float) and x.is_integer():
            return f"expected a whole number, got {_show(x)} (write {int(x)})"
        tip = " (remove the quotes)" if isinstance(x, str) and _looks_like(x, int) else ""
        return f"expected a whole number, got {_show(x)}{tip}"
    if t in ("bool_type", "bool_parsing"):
        tip = " (remove the quotes)" if isinstance(x, str) and x.lower() in ("true", "false") else ""
        return f"expected true or false, got {_show(x)}{tip}"
    if t == "string_type":
        tip = " (put it in quotes)" if isinstance(x, (int, float, bool)) else ""
        return f"expected text, got {_show(x)}{tip}"
    if t == "list_type":
        return f"expected a list such as [0.5, 0.3, 0.2], got {_show(x)}"
    if t in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a group of keys (a mapping) under this section, got {_show(x)}"
    if t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        word = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most", "less_than": "less than"}[t]
        bound = next(iter(ctx.values()), "?")
        return f"must be {word} {_num(bound)} (got {_num(x) if _is_number(x) else _show(x)})"
    if t == "missing":
        return "required key is missing"
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def _loc_key(loc: tuple) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, str(part))
    return out


def _locate(loc: tuple, prov: Provenance) -> tuple[str, int | None] | None:
    for n in range(len(loc), 0, -1):
        hit = prov.get(_loc_key(loc[:n]))
        if hit is not None:
            return hit
    return None


def _to_error(errors: list[dict], prov: Provenance, default_file: str) -> ScenarioError:
    err = errors[0]
    loc = tuple(err.get("loc", ()))
    where = _locate(loc, prov)
    file, line = where if where is not None else (default_file, None)
    return ScenarioError(_plain_message(err), file, _loc_key(loc), line)


def _finish(path: Path, scenario: Scenario, chain: list[Path], prov: Provenance, overrides: dict[str, Any]) -> LoadedScenario:
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
    return _finish(p.resolve(), scenario, list(reversed(order)), prov, {})


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
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _Builder("<value>", loader).build(node, "")
    except (yaml.YAMLError, ScenarioError):
        return text
    finally:
        loader.dispose()


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
                raise ScenarioError(_plain_message({"type": "extra_forbidden", "loc": tuple(parts[: i + 1])}), source, here)
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
        _drop_prov(prov, key)
        prov[key] = (source, None)
        applied[key] = value
    if any(k == "population" or k == ".".join(_TABLE_KEY) for k in applied):
        _resolve_table_path(data, prov, Path.cwd(), source)
    scenario, errors = _validate(data)
    if errors:
        err = _to_error(errors, {}, source)
        raise ScenarioError(err.message, source, err.key, None)
    assert scenario is not None
    return _finish(loaded.path, scenario, list(loaded.chain), prov, {**loaded.overrides, **applied})


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
