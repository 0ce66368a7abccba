"""Reading the calibration's YAML files safely, with the line of every key, and one-line errors.

Both calibration files (the calibration settings and the targets) are read here: PyYAML's *safe* loader
composes a node tree that is turned into plain data, so no tag can construct a Python object, duplicate keys
are refused, and every key and list item keeps its line so validation errors point at what the user wrote:
``calibration/targets/wigan.yaml:62: targets[4].measure: must be 'value' or 'mean' (got 'median')``.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CalibrationError", "read_yaml", "pydantic_error", "key_of"]

Lines = dict[str, int]  # dotted key path ("targets[3].fit") -> 1-based line

_Y = "tag:yaml.org,2002:"
_MAX_NODES = 100_000
_SCALARS = {_Y + t for t in ("str", "int", "float", "bool", "null")}


class CalibrationError(Exception):
    """A problem with a calibration or targets file (or with the posterior), as one line a user can act on.

    ``str(err)`` is ``"{file}:{line}: {key}: {message}"``, leaving out the parts that are unknown.
    """

    def __init__(self, message: str, file: str | os.PathLike[str] | None = None, key: str = "",
                 line: int | None = None):
        self.message = message
        self.file = "" if file is None else os.fspath(file)
        self.key = key
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line is not None else self.file
        return ": ".join(p for p in (where, self.key, self.message) if p)

    def __reduce__(self) -> tuple:  # keep the parts when passed between processes
        return (type(self), (self.message, self.file, self.key, self.line))


def key_of(loc: tuple | list) -> str:
    """('targets', 3, 'fit') -> 'targets[3].fit'"""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: str, file: str, lines: Lines, depth: int = 0) -> Any:
    lines["\0count"] = lines.get("\0count", 0) + 1  # guard against alias bombs ("billion laughs")
    if depth > 50 or lines["\0count"] > _MAX_NODES:
        raise CalibrationError("the file nests too deeply or is too large (perhaps through YAML aliases)", file,
                               path, node.start_mark.line + 1)
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _SCALARS:
            shown = "!!" + node.tag[len(_Y):] if node.tag.startswith(_Y) else node.tag
            hint = " (put dates in quotes)" if shown == "!!timestamp" else ""
            raise CalibrationError(f"unsupported YAML tag {shown!r}: write plain numbers, text, lists and "
                                   f"mappings{hint}", file, path, line)
        return loader.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _Y + "seq":
            raise CalibrationError(f"unsupported YAML tag {node.tag!r}", file, path, line)
        out = []
        for i, item in enumerate(node.value):
            sub = f"{path}[{i}]"
            lines.setdefault(sub, item.start_mark.line + 1)
            out.append(_build(loader, item, sub, file, lines, depth + 1))
        return out
    if isinstance(node, yaml.MappingNode):
        if node.tag != _Y + "map":
            raise CalibrationError(f"unsupported YAML tag {node.tag!r}", file, path, line)
        out: dict = {}
        for knode, vnode in node.value:
            if knode.tag == _Y + "merge":
                raise CalibrationError("YAML merge keys ('<<') are not supported", file, path, knode.start_mark.line + 1)
            key = _build(loader, knode, path, file, {"\0count": lines.get("\0count", 0)}, depth + 1)
            if isinstance(key, (list, dict)) or key is None:
                raise CalibrationError("a key must be a name, not a list, mapping or nothing", file, path,
                                       knode.start_mark.line + 1)
            if isinstance(key, bool):
                key = "true" if key else "false"
            sub = f"{path}.{key}" if path else str(key)
            if key in out or str(key) in {str(k) for k in out}:
                raise CalibrationError(f"duplicate key {str(key)!r} (first given on line {lines.get(sub, '?')})",
                                       file, sub, knode.start_mark.line + 1)
            lines[sub] = knode.start_mark.line + 1
            out[key] = _build(loader, vnode, sub, file, lines, depth + 1)
        return out
    raise CalibrationError("unsupported YAML node", file, path, line)  # pragma: no cover


def read_yaml(path: str | os.PathLike[str]) -> tuple[Any, Lines, bytes]:
    """Plain data, the line of every key, and the file's bytes (for its hash).

    Raises CalibrationError for a missing or unreadable file, malformed YAML, unsafe tags or duplicate keys.
    """
    shown = os.fspath(path)
    p = Path(os.path.expanduser(shown))
    if p.is_dir():
        raise CalibrationError("is a folder, not a YAML file", shown)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise CalibrationError("file not found", shown) from None
    except OSError as exc:
        raise CalibrationError(f"cannot read the file ({exc.strerror or exc})", shown) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CalibrationError("not UTF-8 text", shown) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        loader.dispose()
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise CalibrationError(f"not valid YAML: {exc.problem or exc}", shown, "", line) from None
    except yaml.YAMLError as exc:
        loader.dispose()
        raise CalibrationError(f"not valid YAML: {exc}", shown) from None
    try:
        if node is None:
            raise CalibrationError("the file is empty", shown)
        lines: Lines = {}
        data = _build(loader, node, "", shown, lines)
        lines.pop("\0count", None)
    finally:
        loader.dispose()
    return data, lines, raw


def _line(loc: tuple, lines: Lines) -> int | None:
    for n in range(len(loc), 0, -1):
        hit = lines.get(key_of(loc[:n]))
        if hit is not None:
            return hit
    return None


def _show(x: Any) -> str:
    if x is None:
        return "nothing (null)"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return repr(x if len(x) <= 60 else x[:57] + "...")
    if isinstance(x, list):
        return "a list"
    if isinstance(x, dict):
        return "a mapping"
    return repr(x)


def _num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def pydantic_error(exc: Any, file: str | os.PathLike[str], lines: Lines, model: Any = None,
                   prefix: tuple = ()) -> CalibrationError:
    """The first error of a pydantic ValidationError as a CalibrationError naming the file, key and line."""
    errors = exc.errors(include_url=False)
    # An unknown key explains a missing one ('sdd' for 'sd'): report it first.
    err = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
    loc = prefix + tuple(err.get("loc", ()))
    t = err.get("type", "")
    x = err.get("input")
    ctx = err.get("ctx") or {}
    if t == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        allowed = _allowed(model, loc[len(prefix):-1]) if model is not None else []
        guess = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        msg = f"unknown key {name!r}" + (f" ({hint}allowed: {', '.join(allowed)})" if allowed else "")
    elif t == "missing":
        msg = "required key is missing"
    elif t in ("float_type", "float_parsing", "int_type", "int_parsing", "int_from_float", "finite_number"):
        kind = "a whole number" if t.startswith("int") else "a number"
        msg = f"expected {kind}, got {_show(x)}"
    elif t in ("string_type",):
        msg = f"expected text, got {_show(x)}"
    elif t in ("dict_type", "model_type", "model_attributes_type"):
        msg = f"expected a mapping of keys, got {_show(x)}"
    elif t in ("list_type", "tuple_type"):
        msg = f"expected a list, got {_show(x)}"
    elif t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        word = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
                "less_than": "less than"}[t]
        msg = f"must be {word} {_num(next(iter(ctx.values()), '?'))} (got {_show(x)})"
    elif t == "literal_error":
        msg = f"must be {ctx.get('expected', 'one of the allowed values')} (got {_show(x)})"
    elif t in ("too_short", "too_long"):
        msg = str(err.get("msg", "wrong length"))
    else:
        msg = str(err.get("msg", "invalid value"))
        for p in ("Value error, ", "Assertion failed, "):
            if msg.startswith(p):
                msg = msg[len(p):]
    return CalibrationError(msg, file, key_of(loc), _line(loc, lines))


def _allowed(model: Any, loc: tuple) -> list[str]:
    """Field names of the pydantic model found by walking ``loc`` from ``model`` (best effort)."""
    import typing

    cls = model
    skip = False
    for part in loc:
        if skip or isinstance(part, int):  # a list index or a key of a mapping of models
            skip = False
            continue
        f = getattr(cls, "model_fields", {}).get(part)
        if f is None:
            return []
        ann = f.annotation
        if typing.get_origin(ann) is dict:
            ann = typing.get_args(ann)[1]
            skip = True
        elif typing.get_origin(ann) is list:
            ann = typing.get_args(ann)[0]
        args = [a for a in typing.get_args(ann) if hasattr(a, "model_fields")]
        if hasattr(ann, "model_fields"):
            cls = ann
        elif args:
            cls = args[-1]
        else:
            return []
    return list(getattr(cls, "model_fields", {}))
