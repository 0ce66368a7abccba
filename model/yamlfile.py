"""The one YAML reader: safe, line-keeping, with one error type and one translation of schema errors.

Every file a user writes (scenarios, council files, calibration settings, targets, sweep files) is read here.
PyYAML's safe loader composes a node tree that is turned into plain data, so no tag can construct a Python
object, duplicate keys and merge keys are refused, and every key and list item keeps its file and line so
that an error points at what the user wrote:

    scenarios/my.yaml:12: deal.fidelity: must be at most 1 (got 1.5)

`read` gives (data, provenance, bytes); `from_validation` turns a pydantic ValidationError into an InputError
naming the file, key and line, in plain English, with "did you mean" for a misspelt key.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from pathlib import Path
from typing import Any

import yaml

__all__ = ["InputError", "Provenance", "read", "join", "loc_key", "locate", "did_you_mean", "plain_message",
           "from_validation", "show", "number_text", "value", "fields_at"]

Provenance = dict[str, tuple[str, int | None]]  # dotted key ("targets[3].fit") -> (file as shown, 1-based line)

MAX_NODES = 100_000  # guard against alias bombs ("billion laughs")


class InputError(Exception):
    """A problem with a file a user wrote (or a value they gave), located in a file, at a key and a line where
    known. ``str(err)`` is one line: ``"{file}:{line}: {key}: {message}"``, leaving out the parts that are
    unknown."""

    def __init__(self, message: str, file: str | os.PathLike[str] | None = None, key: str = "",
                 line: int | None = None):
        self.file = "" if file is None else os.fspath(file)
        self.key = key
        self.line = line
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line is not None else self.file
        return ": ".join(p for p in (where, self.key, self.message) if p)

    def __reduce__(self) -> tuple:  # keep the parts when passed between processes
        return (type(self), (self.message, self.file, self.key, self.line))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(file={self.file!r}, key={self.key!r}, line={self.line!r}, "
                f"message={self.message!r})")


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
class Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``3e5`` as a number (YAML 1.1 otherwise needs a dot: ``3.0e5``)."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_Y = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_Y + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_Y):] if tag.startswith(_Y) else tag


def join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


class _Builder:
    """Turns a composed YAML node tree into plain data, recording the line of every key and list item."""

    def __init__(self, file: str, loader: Loader, error: type[InputError]):
        self.file = file
        self.loader = loader
        self.error = error
        self.prov: Provenance = {}
        self.count = 0
        self.active: set[int] = set()

    def fail(self, message: str, key: str, node: yaml.Node) -> InputError:
        return self.error(message, self.file, key, node.start_mark.line + 1)

    def check_tag(self, node: yaml.Node, path: str) -> None:
        ok = ((isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS)
              or (isinstance(node, yaml.MappingNode) and node.tag == _Y + "map")
              or (isinstance(node, yaml.SequenceNode) and node.tag == _Y + "seq"))
        if not ok:
            raise self.fail(f"unsafe or unknown YAML tag {_show_tag(node.tag)!r}: only plain "
                            f"values, lists and mappings are allowed", path, node)

    def build(self, node: yaml.Node, path: str) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(f"the file is too large (more than {MAX_NODES:,} values, perhaps through YAML aliases)",
                            path, node)
        if id(node) in self.active:
            raise self.fail("a YAML alias refers to a value that contains itself", path, node)
        self.check_tag(node, path)
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
            return node.value  # dates stay as written: '2014-01-01' is then reported as "expected a month as 'YYYY-MM'"
        try:
            return self.loader.yaml_constructors[node.tag](self.loader, node)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            raise self.fail(f"cannot read {node.value!r} as {_show_tag(node.tag)} ({exc})", path, node) from None

    def mapping(self, node: yaml.MappingNode, path: str) -> dict:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _Y + "merge":
                raise self.fail("YAML merge keys ('<<') are not supported; use 'extends: other.yaml' instead", path,
                                key_node)
            self.check_tag(key_node, path)
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail("a key must be a plain name, not a list or mapping", path, key_node)
            key = str(key_node.value)  # the text as written: 'no:' or '2014:' stay names, not booleans or numbers
            kpath = join(path, key)
            line = key_node.start_mark.line + 1
            if key in out:
                raise self.error(f"duplicate key {key!r} (first written on line {first_line[key]})", self.file, kpath,
                                 line)
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


def _syntax_error(exc: yaml.MarkedYAMLError, display: str, text: str, what: str,
                  error: type[InputError]) -> InputError:
    n_lines = max(1, len(text.splitlines()))
    mark = exc.problem_mark or exc.context_mark
    line = None if mark is None else min(mark.line + 1, n_lines)
    problem = (exc.problem or "syntax error").replace("'<stream end>'", "the end of the file")
    if problem == "but found another document":
        return error(f"a {what} holds one YAML document, but another one ('---') starts here", display, "", line)
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
    return error(msg, display, "", line)


def read(path: str | os.PathLike[str], display: str | None = None, what: str = "YAML file",
         example: str = "name: value", error: type[InputError] = InputError) -> tuple[dict, Provenance, bytes]:
    """Read one file into (plain mapping, provenance of every key and list item, the file's bytes for its hash).

    `what` names the kind of file in messages ("scenario file"), `example` shows a first line the top level
    could have; `error` is the InputError subclass raised. The top level must be a mapping."""
    shown = os.fspath(path) if display is None else display
    p = Path(os.path.expanduser(os.fspath(path)))
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise error(f"no such {what}", shown) from None
    except IsADirectoryError:
        raise error(f"is a folder, not a {what}", shown) from None
    except OSError as exc:
        raise error(f"cannot read the {what} ({exc.strerror or exc})", shown) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"not readable as UTF-8 text ({exc.reason} at byte {exc.start})", shown) from None
    loader = Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, shown, text, what, error) from None
        except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
            raise error(f"invalid YAML: {exc}", shown) from None
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _Y + "null"):
            raise error(f"the {what} is empty (expected keys such as '{example}')", shown, "", 1)
        builder = _Builder(shown, loader, error)
        builder.check_tag(node, "")
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else f"the single value {node.value!r}"
            raise error(f"the top level must be keys and values (like '{example}'), got {kind}", shown, "",
                        node.start_mark.line + 1)
        return builder.build(node, ""), builder.prov, raw
    finally:
        loader.dispose()


def explanations(path: str | os.PathLike[str], what: str = "YAML file") -> dict[str, str]:
    """Dotted key -> the words a file's author wrote about it: the comment block just above the key's line and the
    comment after its value, continued on more-indented comment lines below. Keys come from `read` (so their lines
    are the reader's own); keys written on one line (``{male: .., female: ..}``) share that line's words. A comment
    line of only dashes or equals signs, an empty comment line or a blank line ends a block."""
    _, prov, raw = read(path, what=what)
    lines = raw.decode("utf-8-sig").splitlines()
    keys_at: dict[int, list[str]] = {}
    for key, (_, line) in prov.items():
        if line is not None and not key.endswith("]"):
            keys_at.setdefault(line, []).append(key)

    def comment_text(raw_line: str) -> str | None:
        t = raw_line.strip()
        if not t.startswith("#"):
            return None
        return t.lstrip("#").strip()

    def indent(raw_line: str) -> int:
        return len(raw_line) - len(raw_line.lstrip())

    out: dict[str, str] = {}
    for line, keys in sorted(keys_at.items()):
        i = line - 1
        above: list[str] = []
        j = i - 1
        while j >= 0:
            t = comment_text(lines[j])
            if not t or set(t) <= set("-="):
                break
            above.insert(0, t)
            j -= 1
        # Lines of `above` that continue the previous key's trailing comment (indented past that key) are its.
        k = j + 1
        if j >= 0 and comment_text(lines[j]) is None and lines[j].strip():
            while k < i and indent(lines[k]) > indent(lines[j]) + 2:
                k += 1
            above = above[k - (j + 1):]
        m = re.search(r"\s#\s?(.*)$", lines[i])
        after = [m.group(1).strip()] if m and m.group(1).strip() else []
        if after:
            n = i + 1
            while n < len(lines) and comment_text(lines[n]) and indent(lines[n]) > indent(lines[i]) + 2:
                after.append(comment_text(lines[n]) or "")
                n += 1
        words = " ".join(above + after).strip()
        if words:
            for key in keys:
                out[key] = words
    return out


def value(text: str) -> Any:
    """One value written as YAML text ('0.5' -> 0.5, 'false' -> False, '[0.4, 0.3]' -> a list), read as safely as a
    file (a command-line override). Raises yaml.YAMLError or InputError when it is not a plain value."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _Builder("<value>", loader, InputError).build(node, "")
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------
# Locating and explaining schema errors
# ---------------------------------------------------------------------------------------------
def loc_key(loc: tuple | list) -> str:
    """('targets', 3, 'fit') -> 'targets[3].fit'"""
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else join(out, str(part))
    return out


def locate(loc: tuple, prov: Provenance) -> tuple[str, int] | None:
    """The (file, line) of the deepest part of `loc` that a file set."""
    for n in range(len(loc), 0, -1):
        hit = prov.get(loc_key(loc[:n]))
        if hit is not None:
            return hit
    return None


def did_you_mean(name: str, allowed: typing.Iterable[str]) -> str:
    """'did you mean 'x'? ' when a close match exists, else ''."""
    guess = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f"did you mean {guess[0]!r}? " if guess else ""


def number_text(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def show(x: Any) -> str:
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


def fields_at(model: Any, loc: tuple) -> list[str] | None:
    """Field names of the pydantic model reached by walking `loc` from `model` through nested models, lists of
    models and mappings of models; None where the walk leaves the schema."""
    cls = model
    skip = False
    for part in loc:
        if skip or isinstance(part, int):  # a list index or a key of a mapping of models
            skip = False
            continue
        f = getattr(cls, "model_fields", {}).get(part)
        if f is None:
            return None
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
            return None
    return list(getattr(cls, "model_fields", {})) if hasattr(cls, "model_fields") else None


def plain_message(err: dict, model: Any = None, extra_top: typing.Sequence[str] = ()) -> str:
    """One pydantic error as plain English. `model` is the schema the error's location starts from (for the
    keys allowed where an unknown one was written); `extra_top` are top-level keys the reader handles itself."""
    t = err.get("type", "")
    x = err.get("input")
    ctx = err.get("ctx") or {}
    loc = tuple(err.get("loc", ()))
    if t == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        allowed = (fields_at(model, loc[:-1]) or []) if model is not None else []
        if len(loc) == 1:
            allowed = allowed + list(extra_top)
        return f"unknown key {name!r}" + (f" ({did_you_mean(name, allowed)}allowed: {', '.join(allowed)})"
                                          if allowed else "")
    if t in ("float_type", "float_parsing", "finite_number"):
        tip = " (remove the quotes)" if isinstance(x, str) and _looks_like(x, float) else ""
        return f"expected a number, got {show(x)}{tip}"
    if t in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(x, float) and x.is_integer():
            return f"expected a whole number, got {show(x)} (write {int(x)})"
        tip = " (remove the quotes)" if isinstance(x, str) and _looks_like(x, int) else ""
        return f"expected a whole number, got {show(x)}{tip}"
    if t in ("bool_type", "bool_parsing"):
        tip = " (remove the quotes)" if isinstance(x, str) and x.lower() in ("true", "false") else ""
        return f"expected true or false, got {show(x)}{tip}"
    if t == "string_type":
        tip = " (put it in quotes)" if isinstance(x, (int, float, bool)) else ""
        return f"expected text, got {show(x)}{tip}"
    if t in ("list_type", "tuple_type"):
        return f"expected a list such as [0.5, 0.3, 0.2], got {show(x)}"
    if t in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a group of keys (a mapping) here, got {show(x)}"
    if t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        word = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
                "less_than": "less than"}[t]
        bound = next(iter(ctx.values()), "?")
        return f"must be {word} {number_text(bound)} (got {number_text(x) if _is_number(x) else show(x)})"
    if t == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')} (got {show(x)})"
    if t == "missing":
        return "required key is missing"
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def from_validation(errors: Any, prov: Provenance, file: str, model: Any = None, prefix: tuple = (),
                    extra_top: typing.Sequence[str] = (), error: type[InputError] = InputError) -> InputError:
    """The first error of a pydantic ValidationError (or its list of error dicts) as an InputError naming the
    file, key and line. An unknown key is reported first: it usually explains a missing one ('sdd' for 'sd')."""
    errs = list(errors.errors(include_url=False)) if hasattr(errors, "errors") else list(errors)
    err = next((e for e in errs if e.get("type") == "extra_forbidden"), errs[0])
    loc = prefix + tuple(err.get("loc", ()))
    where = locate(loc, prov)
    f, line = where if where is not None else (file, None)
    return error(plain_message({**err, "loc": tuple(err.get("loc", ()))}, model, extra_top), f, loc_key(loc), line)
