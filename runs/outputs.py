"""Result files: an atomic result folder, the monthly table (CSV, Parquet), JSON, and the comparison statistics.

A result folder is written in full into a temporary sibling (``DIR.tmp-<pid>``) and renamed into place
only when complete, so a folder at ``DIR`` is always a finished result; an error or an interrupt removes
the temporary folder. An existing ``DIR`` is replaced only when asked (``force``), and only if it is
empty or is itself a dealsim result (holds ``provenance.json``), so a mistyped ``--out`` can never
delete unrelated files.

Every writer is deterministic: the same inputs give byte-identical CSV and JSON.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "OutputError", "MARKER", "check_destination", "atomic_folder", "unique_default", "signals_deferred",
    "write_csv", "write_parquet", "write_json", "write_text", "jsonable",
    "quantiles", "summarise_differences", "summary_rows", "write_summary_csv", "long_table",
]

MARKER = "provenance.json"  # every dealsim result folder holds one; written last
QUANTILES = (0.05, 0.5, 0.95)


class OutputError(Exception):
    """A problem with the output folder, as one line a user can act on."""


# ---------------------------------------------------------------------------------------------
# The atomic result folder
# ---------------------------------------------------------------------------------------------
def _normal(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def check_destination(final: str | os.PathLike[str], force: bool = False) -> Path:
    """Raise :class:`OutputError` unless a result folder can be written at ``final``; return it absolute."""
    shown = os.fspath(final)
    path = _normal(final)
    if not path.name or path.parent == path:
        raise OutputError(f"{shown}: not usable as a result folder")
    if path.exists() or path.is_symlink():
        if not path.is_dir() or path.is_symlink():
            raise OutputError(f"{shown} exists and is not a folder")
        if not force:
            raise OutputError(f"{shown} already exists (choose another --out, or add --force to replace it)")
        try:
            empty = not any(path.iterdir())
        except OSError as exc:
            raise OutputError(f"{shown}: cannot read the existing folder ({exc.strerror or exc})") from None
        if not empty and not (path / MARKER).is_file():
            raise OutputError(f"{shown} is not a dealsim result folder (no {MARKER}); refusing to replace it even with --force")
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"{shown}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{shown}: no permission to write in {parent}")
    return path


def unique_default(base: str | os.PathLike[str]) -> Path:
    """``base``, or ``base-2``, ``base-3``... if taken (for default, timestamped folder names)."""
    path = _normal(base)
    n = 1
    candidate = path
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM during a step that must not be cut in half (moving folders, starting worker
    processes); a signal that arrives meanwhile takes effect (its previous handler runs) when the block ends.

    Python-level handlers are swapped rather than the thread's signal mask, because numerical libraries
    start native threads that would still receive a blocked signal.
    """
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        received.append(signum)

    try:
        old = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals go to the main thread anyway
        yield
        return
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(received):
            handler = old[sig]
            if callable(handler):
                handler(sig, None)  # e.g. Python's default SIGINT handler raises KeyboardInterrupt
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), sig)


@contextmanager
def atomic_folder(final: str | os.PathLike[str], force: bool = False,
                  written: list[Path] | None = None) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``final``; rename it to ``final`` when the block completes.

    On any exception (including KeyboardInterrupt) before the rename, the temporary folder is removed and
    the exception re-raised; ``final`` is then left as it was. The rename itself is not interrupted (a
    signal is held until it is done); once it is done, ``final`` is appended to ``written``.
    """
    path = check_destination(final, force)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    committed = False
    try:
        yield tmp
        with signals_deferred():
            if path.exists():
                check_destination(final, force)  # it may have appeared since; raise unless replaceable
                old = path.with_name(f"{path.name}.old-{os.getpid()}")
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
            committed = True
            if written is not None:
                written.append(path)
    except BaseException:
        if not committed:
            with signals_deferred():
                shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------------------------------
# Tables and JSON
# ---------------------------------------------------------------------------------------------
def _columns(table: Mapping[str, Any]) -> tuple[list[str], int]:
    cols = list(table)
    if not cols:
        raise ValueError("empty table")
    lengths = {c: len(table[c]) for c in cols}
    n = lengths[cols[0]]
    bad = [c for c, k in lengths.items() if k != n]
    if bad:
        raise ValueError(f"columns of unequal length: {bad[:3]} (expected {n} rows)")
    return cols, n


def _fmt_column(values: Any) -> list[str]:
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "f":
        return ["" if math.isnan(x) else repr(x) for x in arr.astype(float).tolist()]
    if kind == "b":
        return ["true" if x else "false" for x in arr.tolist()]
    if kind in "iu":
        return [str(int(x)) for x in arr.tolist()]
    return [str(x) for x in arr.tolist()]


def write_csv(path: str | os.PathLike[str], table: Mapping[str, Any]) -> None:
    """One row per index, one column per key, in the table's order; floats written exactly (shortest repr)."""
    cols, n = _columns(table)
    formatted = [_fmt_column(table[c]) for c in cols]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for i in range(n):
            w.writerow([f[i] for f in formatted])


def write_parquet(path: str | os.PathLike[str], table: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols, _ = _columns(table)
    arrays = []
    for c in cols:
        arr = np.asarray(table[c])
        arrays.append(pa.array(arr.tolist() if arr.dtype.kind in "USO" else arr))
    pq.write_table(pa.table(arrays, names=cols), path, compression="zstd")


def jsonable(obj: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays to Python, NaN and infinities to null, paths to text."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    text = json.dumps(jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def write_text(path: str | os.PathLike[str], text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def long_table(tables: Sequence[tuple[dict[str, Any], Mapping[str, Any]]]) -> dict[str, np.ndarray]:
    """Stack tables into one long table: each item is (constant columns such as arm and seed, table)."""
    out: dict[str, list] = {}
    keys: list[str] = []
    for const, table in tables:
        for k in list(const) + list(table):
            if k not in out:
                out[k] = []
                keys.append(k)
    for const, table in tables:
        _, n = _columns(table)
        for k in keys:
            if k in const:
                out[k].extend([const[k]] * n)
            elif k in table:
                out[k].extend(np.asarray(table[k]).tolist())
            else:
                out[k].extend([None] * n)
    return {k: np.asarray(v) if all(x is not None for x in v) else np.asarray(v, dtype=object) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# Comparison statistics over seeds
# ---------------------------------------------------------------------------------------------
def _r(x: float) -> float:
    return round(float(x), 6)


def quantiles(values: Sequence[float] | np.ndarray, *, median: str = "median", count: bool = True,
              rnd: Callable[[float], float] | None = _r) -> dict[str, float | int | None]:
    """The project's one quantile summary: 5%, 50% and 95% quantiles (numpy's linear interpolation) of the finite
    values, and their count. `median` names the middle key ("median" in run summaries, "q50" in posterior and
    assessment files); `rnd` rounds each quantile (None keeps full precision). No finite value gives None's."""
    v = (values.astype(float).ravel() if isinstance(values, np.ndarray)
         else np.array([math.nan if x is None else float(x) for x in values], dtype=float))
    v = v[np.isfinite(v)]
    r = rnd or float
    if v.size == 0:
        out: dict[str, float | int | None] = {"q05": None, median: None, "q95": None}
    else:
        q05, med, q95 = np.quantile(v, QUANTILES)
        out = {"q05": r(q05), median: r(med), "q95": r(q95)}
    if count:
        out["n"] = int(v.size)
    return out


def _ordered_union(seqs: Sequence[Sequence[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for s in seqs:
        for x in s:
            seen.setdefault(x, None)
    return list(seen)


def summarise_differences(a: Mapping[int, Mapping[str, Mapping[str, float]]],
                          b: Mapping[int, Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, dict]]:
    """For every outcome and period: each arm's median/q05/q95 over seeds, and A-B per seed and over seeds.

    ``a`` and ``b`` map seed -> outcomes (as DealModel.outcomes()). Seeds are taken in sorted order, so
    the result does not depend on the order in which runs finished. A difference is taken only for seeds
    where both arms have the period.
    """
    seeds = sorted(set(a) & set(b))
    names = _ordered_union([list(a[s]) for s in seeds] + [list(b[s]) for s in seeds])
    out: dict[str, dict[str, dict]] = {}
    for name in names:
        periods = _ordered_union([list(a[s].get(name, {})) for s in seeds] + [list(b[s].get(name, {})) for s in seeds])
        per: dict[str, dict] = {}
        for p in periods:
            va = {s: a[s].get(name, {}).get(p) for s in seeds}
            vb = {s: b[s].get(name, {}).get(p) for s in seeds}
            diff = {s: _r(va[s] - vb[s]) for s in seeds if va[s] is not None and vb[s] is not None}
            per[p] = {
                "a": quantiles([v for v in va.values() if v is not None]),
                "b": quantiles([v for v in vb.values() if v is not None]),
                "diff": {**quantiles(list(diff.values())), "by_seed": {str(s): d for s, d in diff.items()}},
            }
        out[name] = per
    return out


SUMMARY_COLUMNS = ["outcome", "period", "a_median", "a_q05", "a_q95", "b_median", "b_q05", "b_q95",
                   "diff_median", "diff_q05", "diff_q95", "n_seeds"]


def summary_rows(differences: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for name, per in differences.items():
        for p, d in per.items():
            rows.append({
                "outcome": name, "period": p,
                **{f"a_{k}": d["a"][k] for k in ("median", "q05", "q95")},
                **{f"b_{k}": d["b"][k] for k in ("median", "q05", "q95")},
                **{f"diff_{k}": d["diff"][k] for k in ("median", "q05", "q95")},
                "n_seeds": d["diff"]["n"],
            })
    return rows


def write_summary_csv(path: str | os.PathLike[str], differences: Mapping[str, Any]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(SUMMARY_COLUMNS)
        for row in summary_rows(differences):
            w.writerow(["" if row[c] is None else (repr(row[c]) if isinstance(row[c], float) else row[c])
                        for c in SUMMARY_COLUMNS])


def write_file(path: str | os.PathLike[str], write: Callable[[Path], Any], *, exclusive: bool = False,
               durable: bool = False) -> Any:
    """The project's one atomic writer: `write(temporary sibling)`, then a rename into place, so a reader never sees
    half a file and an interrupted write leaves the old file (or none). `durable` flushes the file to disk first (a
    sweep's records on a cluster's shared disk); `exclusive` links instead of renaming, so the first of several
    writers wins and the others get FileExistsError. The temporary name carries host and process, so writers on
    different nodes never share one. OutputError if the folder does not exist. Returns what `write` returned."""
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputError(f"{path}: the folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.tmp-{socket.gethostname()}-{os.getpid()}")
    try:
        result = write(tmp)
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if exclusive:
            os.link(tmp, target)
        else:
            os.replace(tmp, target)
        return result
    finally:
        if tmp.exists():
            tmp.unlink()


def number(x: Any, nd: int | None = None, signed: bool = False) -> str:
    """The project's one number formatter, for tables and reports: '-' for nothing or a non-finite value,
    thousands with separators and no decimals; below that `nd` decimals for a float (an int as it is), or with
    nd=None as many as the size calls for (.1f from 10, .2f from 0.1, else .3f). `signed` shows '+'."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return str(x)
    sign = "+" if signed else ""
    a = abs(x)
    if a >= 1000:
        return format(x, sign + ",.0f")
    if nd is None:
        return format(x, sign + (".1f" if a >= 10 else ".2f" if a >= 0.1 or a == 0 else ".3f"))
    return format(x, f"{sign}.{nd}f") if isinstance(x, float) else format(x, sign + "d")
