"""The sweep folder: a manifest, the design, and a Parquet dataset of finished runs, written as they finish.

Layout of ``DIR``::

    manifest.json           the sweep's resolved definition, its hash, the base scenario, columns, provenance
    design.parquet          the design's rows (point, parameter values), authoritative once written
    runs/part-<hash>.parquet   one file per batch of finished runs (ok or failed), never rewritten
    log/<time>-<host>-<pid>.json  one record per invocation (engine, workers, shard, counts, wall time)

Every file is written under a temporary name starting with '.' in the same folder, flushed to disk, and
renamed into place, so a reader never sees half a file and a kill at any moment loses at most the batch in
memory. Files that several processes may create at once (the manifest, the design: several shards
starting together) are created with a hard link, which fails if the file exists; the existing file then
wins. A run stored twice (two processes given the same runs) is read once: ``read`` keeps one row a run,
a successful one if there is one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from runs.outputs import write_file

__all__ = ["StoreError", "SweepStore", "MANIFEST", "DESIGN", "RUNS", "KEY_COLUMNS", "TIMING_COLUMNS"]

MANIFEST = "manifest.json"
DESIGN = "design.parquet"
RUNS = "runs"
LOG = "log"
FORMAT = "dealsim-sweep/1"
KEY_COLUMNS = ("run_id", "point", "replicate", "seed")
TIMING_COLUMNS = ("run_s", "host")  # differ between identical runs; left out of read() unless asked
_ARROW = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}


class StoreError(Exception):
    """A problem with the sweep folder, as one line a user can act on."""


def _write_atomic(path: Path, write: Any, exclusive: bool = False) -> bool:
    """The one atomic writer (runs.outputs.write_file), flushed to disk; with ``exclusive`` the first writer wins
    and False is returned when ``path`` already existed."""
    try:
        write_file(path, write, exclusive=exclusive, durable=True)
    except FileExistsError:
        return False
    return True


def _json_text(obj: Any) -> str:
    from runs.outputs import jsonable

    return json.dumps(jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class SweepStore:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
        self.shown = os.fspath(root)
        self.runs_dir = self.root / RUNS
        self._schema: pa.Schema | None = None
        self._manifest: dict | None = None

    # ------------------------------------------------------------------ manifest
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            if not self.root.is_dir():
                raise StoreError(f"{self.shown}: no such folder")
            try:
                self._manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise StoreError(f"{self.shown} is not a sweep folder (no {MANIFEST})") from None
            except (OSError, ValueError) as exc:
                raise StoreError(f"{self.shown}/{MANIFEST}: cannot read it ({exc})") from None
            if self._manifest.get("format") != FORMAT:
                raise StoreError(f"{self.shown}/{MANIFEST}: not a dealsim sweep manifest (format {self._manifest.get('format')!r})")
        return self._manifest

    def open(self, manifest: dict[str, Any], force: bool = False) -> bool:
        """Create the folder and its manifest, or check that the existing one is the same sweep.

        Returns True if the sweep folder already existed (a resumed sweep). An existing folder holding a
        different sweep is refused unless ``force``, which then empties it (only a sweep folder, never
        another folder).
        """
        manifest = {"format": FORMAT, **manifest}
        root = self.root
        if root.exists() or root.is_symlink():
            if not root.is_dir():
                raise StoreError(f"{self.shown} exists and is not a folder")
            if not self.exists():
                # Empty, or being created by another process at this moment (shards of an array job start together).
                others = [p.name for p in root.iterdir() if p.name not in (RUNS, LOG, DESIGN)
                          and not p.name.startswith((f".{MANIFEST}.tmp-", f".{DESIGN}.tmp-"))]
                if others:
                    raise StoreError(f"{self.shown} exists and is not a sweep folder (no {MANIFEST}); choose another --out")
            else:
                old = self.manifest()
                if old.get("definition_sha256") != manifest["definition_sha256"]:
                    if not force:
                        raise StoreError(
                            f"{self.shown} holds another sweep ({old.get('definition', {}).get('name', '?')}, definition "
                            f"{str(old.get('definition_sha256'))[:12]}; this one is {manifest['definition_sha256'][:12]}): "
                            "choose another --out, or add --force to delete its runs")
                    self.clear()
        else:
            parent = root.parent
            if not parent.is_dir():
                raise StoreError(f"{self.shown}: the folder {parent} does not exist")
            try:
                root.mkdir(exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.shown}: cannot create the folder ({exc.strerror or exc})") from None
        resumed = self.exists()
        self.runs_dir.mkdir(exist_ok=True)
        (root / LOG).mkdir(exist_ok=True)
        if not resumed:
            text = _json_text(manifest)
            _write_atomic(self.manifest_path, lambda p: p.write_text(text, encoding="utf-8"), exclusive=True)
            self._manifest = None
            if self.manifest().get("definition_sha256") != manifest["definition_sha256"]:  # lost a race
                raise StoreError(f"{self.shown}: another sweep was started in this folder at the same time")
        self.cleanup()
        return resumed

    def clear(self) -> None:
        """Remove a sweep folder's contents (only the files a sweep writes)."""
        for name in (RUNS, LOG, "sensitivity"):
            shutil.rmtree(self.root / name, ignore_errors=True)
        for name in (MANIFEST, DESIGN):
            (self.root / name).unlink(missing_ok=True)
        self._manifest = None
        self._schema = None

    def cleanup(self) -> None:
        """Remove temporary files left by killed processes of this host (others may still be writing)."""
        host = socket.gethostname()
        for folder in (self.root, self.runs_dir):
            for p in folder.glob(f".*.tmp-{host}-*"):
                try:
                    pid = int(p.name.rsplit("-", 1)[1])
                except ValueError:
                    continue
                if pid != os.getpid() and not _alive(pid):
                    p.unlink(missing_ok=True)

    def log(self, record: dict[str, Any]) -> None:
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{socket.gethostname()}-{os.getpid()}.json"
        text = _json_text(record)
        (self.root / LOG).mkdir(exist_ok=True)
        _write_atomic(self.root / LOG / name, lambda p: p.write_text(text, encoding="utf-8"))

    # ------------------------------------------------------------------ columns
    def schema(self, timings: bool = True) -> pa.Schema:
        if self._schema is None:
            m = self.manifest()
            fields = [pa.field("run_id", pa.string()), pa.field("point", pa.int64()),
                      pa.field("replicate", pa.int64()), pa.field("seed", pa.int64())]
            fields += [pa.field(p["key"], _ARROW[p["kind"]]) for p in m["definition"]["parameters"]]
            fields += [pa.field("status", pa.string()), pa.field("attempts", pa.int64())]
            fields += [pa.field(c, pa.float64()) for c in m["definition"]["outputs"]]
            fields += [pa.field("error", pa.string()), pa.field("run_s", pa.float64()), pa.field("host", pa.string())]
            self._schema = pa.schema(fields)
        if timings:
            return self._schema
        return pa.schema([f for f in self._schema if f.name not in TIMING_COLUMNS])

    @property
    def parameter_columns(self) -> list[str]:
        return [p["key"] for p in self.manifest()["definition"]["parameters"]]

    @property
    def output_columns(self) -> list[str]:
        return list(self.manifest()["definition"]["outputs"])

    # ------------------------------------------------------------------ design
    def write_design(self, pts: Sequence[dict[str, Any]]) -> None:
        schema = pa.schema([pa.field("point", pa.int64())] + [f for f in self.schema() if f.name in self.parameter_columns])
        cols: dict[str, list] = {"point": list(range(len(pts)))}
        for k in self.parameter_columns:
            cols[k] = [pt[k] for pt in pts]
        table = pa.table(cols, schema=schema)
        _write_atomic(self.root / DESIGN, lambda p: pq.write_table(table, p), exclusive=True)

    def read_design(self) -> list[dict[str, Any]] | None:
        path = self.root / DESIGN
        if not path.is_file():
            return None
        t = pq.read_table(path).to_pydict()
        keys = self.parameter_columns
        return [{k: t[k][i] for k in keys} for i in range(len(t["point"]))]

    # ------------------------------------------------------------------ runs
    def write_batch(self, records: Sequence[dict[str, Any]]) -> Path | None:
        """Store finished runs (records from runner.execute) as one Parquet file; return its path."""
        if not records:
            return None
        schema = self.schema()
        cols: dict[str, list] = {f.name: [] for f in schema}
        params = self.parameter_columns
        outs = self.output_columns
        for rec in records:
            run = rec["run"]
            cols["run_id"].append(run.run_id)
            cols["point"].append(run.point)
            cols["replicate"].append(run.replicate)
            cols["seed"].append(run.seed)
            pv = run.overrides
            for k in params:
                cols[k].append(pv.get(k))
            cols["status"].append(rec["status"])
            cols["attempts"].append(rec["attempts"])
            for c in outs:
                cols[c].append(rec["values"].get(c))
            cols["error"].append(rec["error"])
            cols["run_s"].append(rec["run_s"])
            cols["host"].append(rec["host"])
        table = pa.table(cols, schema=schema)
        ids = "\n".join(sorted(cols["run_id"])) + "\n" + "\n".join(cols["status"])
        name = f"part-{hashlib.sha256(ids.encode()).hexdigest()[:20]}.parquet"
        path = self.runs_dir / name
        _write_atomic(path, lambda p: pq.write_table(table, p, compression="zstd"))
        return path

    def _files(self) -> list[Path]:
        if not self.runs_dir.is_dir():
            return []
        return sorted(p for p in self.runs_dir.iterdir() if p.name.startswith("part-") and p.suffix == ".parquet")

    def stored(self, include_failed: bool = True) -> set[str]:
        """Ids of stored runs (successful ones, and failed ones unless ``include_failed`` is False)."""
        ids: set[str] = set()
        for f in self._files():
            t = pq.read_table(f, columns=["run_id", "status"]).to_pydict()
            ids.update(r for r, s in zip(t["run_id"], t["status"]) if include_failed or s == "ok")
        return ids

    def read(self, timings: bool = False) -> pa.Table:
        """All stored runs, one row a run (a successful row if any), sorted by run id."""
        schema = self.schema()
        tables = [pq.read_table(f, schema=schema) for f in self._files()]
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        if table.num_rows:
            ids = table.column("run_id").to_pylist()
            status = table.column("status").to_pylist()
            order = sorted(range(len(ids)), key=lambda i: (ids[i], status[i] != "ok", i))
            keep = [i for j, i in enumerate(order) if j == 0 or ids[i] != ids[order[j - 1]]]
            table = table.take(pa.array(keep, type=pa.int64()))
        if not timings:
            table = table.drop_columns(list(TIMING_COLUMNS))
        return table


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
