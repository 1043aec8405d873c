"""Prepared-dataset cache: ``.npz`` shards of many sequences plus an ``index.json``.

A prepared directory looks like::

    DIR/
      index.json                     # schema below
      shards/{split}-{k:05d}.npz     # uncompressed .npz (memory-mappable), one per shard

Each shard holds the sequences ``ids`` (``(n,)`` unicode) of one split, concatenated along time:

- ``joints``  float32 ``(sum T, M, V, C)``;
- ``labels``  int16 ``(sum T,)`` per-frame class index (``-100`` = unlabelled frame);
- ``offsets`` int64 ``(n + 1,)``: sequence ``i`` is frames ``offsets[i]:offsets[i + 1]``;
- ``ids``     ``(n,)`` sequence ids.

``index.json`` (``format_version`` 1)::

    {"format": "skelzoo-prepared", "format_version": 1, "name": str,
     "layout": "ntu25", "fps": 30.0, "num_persons": M, "num_joints": V, "num_channels": C,
     "class_names": [K foreground names], "background_index": K or null, "label_names": [... , "background"],
     "labels": "frame" | "clip" | "none", "ignore_index": -100,
     "preprocessing": {...}, "source": {...}, "seed": int or null, "params": {...},
     "created": {"skelzoo_version": str, "time": ISO-8601 UTC},
     "fingerprint": sha256 of (name, params, seed, plan),
     "splits": {split: {"num_sequences": n, "num_frames": f,
                        "shards": [{"file": "shards/x.npz", "num_sequences": n, "num_frames": f, "sha256": hex}],
                        "sequences": [{"id": str, "length": T, "shard": k, "index": i, "meta": {...}}]}}}

Writing (:func:`write_prepared`) happens in a staging directory ``DIR.partial`` that is renamed to
``DIR`` at the end (atomic on one file system); every shard is itself written to a temporary file and
renamed. A run that was interrupted resumes: shards already present in ``DIR.partial`` whose ids match
the plan (same fingerprint) are kept, the others are produced. :class:`PreparedDataset` reads shards
lazily and memory-maps their arrays (uncompressed ``.npz`` members are plain ``.npy`` byte ranges).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..progress import progress as show_progress

__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "IGNORE_INDEX", "SequenceRecord", "ShardPlan", "PreparedDataset",
    "write_prepared", "plan_shards", "is_prepared", "prepare_files",
]

log = logging.getLogger(__name__)

FORMAT_NAME = "skelzoo-prepared"
FORMAT_VERSION = 1
#: label of frames without a label (padding, unlabelled recordings): PyTorch's CE ``ignore_index``
IGNORE_INDEX = -100
_PLAN_FILE = "plan.json"


@dataclass
class SequenceRecord:
    """One sequence to store: ``data`` ``(T, M, V, C)``, ``labels`` ``(T,)`` (``-100`` = none), JSON ``meta``."""

    id: str
    data: np.ndarray
    labels: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ShardPlan:
    """One shard to write: its split, the ids it will hold (in order) and a producer-specific ``task``."""

    split: str
    ids: list[str]
    task: Any = None


def plan_shards(split: str, ids: Sequence[str], tasks: Sequence[Any] | None = None, *,
                per_shard: int = 256) -> list[ShardPlan]:
    """Cut ``ids`` (and their per-sequence ``tasks``) into consecutive shards of ``per_shard`` sequences."""
    if per_shard <= 0:
        raise ValueError("per_shard must be positive")
    out = []
    for k in range(0, len(ids), per_shard):
        task = list(tasks[k:k + per_shard]) if tasks is not None else None
        out.append(ShardPlan(split, list(ids[k:k + per_shard]), task))
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _shard_name(split: str, k: int) -> str:
    return f"shards/{split}-{k:05d}.npz"


def _check_split_name(split: str) -> None:
    if not split or not all(c.isalnum() or c in "-_." for c in split) or split.startswith("."):
        raise ValueError(f"invalid split name {split!r} (letters, digits, '-', '_', '.')")


def _write_shard(path: Path, records: Sequence[SequenceRecord]) -> tuple[int, dict[str, Any]]:
    """Write ``records`` atomically to ``path``; returns (frames, summary)."""
    if not records:
        raise ValueError("a shard needs at least one sequence")
    datas = [np.ascontiguousarray(r.data, dtype=np.float32) for r in records]
    shape = datas[0].shape[1:]
    for r, d in zip(records, datas):
        if d.ndim != 4 or d.shape[1:] != shape:
            raise ValueError(f"sequence {r.id!r}: data must be (T, M, V, C) with (M, V, C) = {shape}, got {d.shape}")
        if not np.isfinite(d).all():
            raise ValueError(f"sequence {r.id!r}: data contains NaN/inf (fill missing joints first)")
    lengths = np.array([len(d) for d in datas], dtype=np.int64)
    labels = []
    for r, d in zip(records, datas):
        lab = np.full(len(d), IGNORE_INDEX, np.int64) if r.labels is None else np.asarray(r.labels, np.int64)
        if lab.shape != (len(d),):
            raise ValueError(f"sequence {r.id!r}: labels must be ({len(d)},), got {lab.shape}")
        if ((lab < 0) & (lab != IGNORE_INDEX)).any() or (lab > np.iinfo(np.int16).max).any():
            raise ValueError(f"sequence {r.id!r}: labels must be class indices >= 0 or {IGNORE_INDEX}")
        labels.append(lab.astype(np.int16))
    arrays = {
        "joints": np.concatenate(datas, axis=0),
        "labels": np.concatenate(labels) if labels else np.zeros(0, np.int16),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "ids": np.array([r.id for r in records], dtype=str),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return int(lengths.sum()), {"lengths": lengths.tolist()}


def _read_shard_header(path: Path) -> tuple[list[str], np.ndarray] | None:
    """``(ids, offsets)`` of a shard, or ``None`` if it is unreadable/incomplete."""
    try:
        with np.load(path, allow_pickle=False) as z:
            ids = [str(s) for s in z["ids"]]
            offsets = np.asarray(z["offsets"])
            nj, nl = z["joints"].shape[0], z["labels"].shape[0]
    except Exception:  # noqa: BLE001 - any corruption means "not written"
        return None
    if len(offsets) != len(ids) + 1 or offsets[-1] != nj or nl != nj:
        return None
    return ids, offsets


def _fingerprint(info: Mapping[str, Any], plan: Sequence[ShardPlan]) -> str:
    blob = json.dumps({"name": info.get("name"), "params": info.get("params"), "seed": info.get("seed"),
                       "layout": info.get("layout"), "preprocessing": info.get("preprocessing"),
                       "plan": [[p.split, p.ids] for p in plan]}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _json_dump(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, default=_json_default)
        f.write("\n")
    os.replace(tmp, path)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def is_prepared(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a complete prepared directory (has a readable ``index.json`` of this format)."""
    p = Path(path) / "index.json"
    try:
        return json.loads(p.read_text()).get("format") == FORMAT_NAME
    except (OSError, ValueError):
        return False


def write_prepared(out_dir: str | os.PathLike, plan: Sequence[ShardPlan],
                   produce: Callable[[ShardPlan], Sequence[SequenceRecord]], *, info: Mapping[str, Any],
                   progress: bool = True, overwrite: bool = False, desc: str | None = None) -> "PreparedDataset":
    """Write a prepared dataset: each shard of ``plan`` is made by ``produce(shard)``.

    Args:
        out_dir: the final directory (must not exist unless ``overwrite`` or it is an identical,
            complete preparation, which is then returned as is).
        plan: the shards, in order; shard ``k`` of a split is ``shards/{split}-{k:05d}.npz``.
        produce: returns the records of a shard, with exactly the planned ids in order.
        info: ``index.json`` fields: ``name``, ``layout``, ``fps``, ``class_names``,
            ``background_index``, ``labels``, ``preprocessing``, ``source``, ``seed``, ``params``
            (extra keys are kept).
        progress: show a tqdm progress bar (if tqdm is installed).
        overwrite: replace an existing, different ``out_dir``.

    Resuming: an interrupted run leaves ``out_dir + ".partial"``; calling again with the same info
    and plan keeps its verified shards (readable, with the planned ids) and produces only the rest.
    Other files in the staging directory (e.g. a parse cache) are left alone.
    """
    out = Path(out_dir)
    if not plan:
        raise ValueError("nothing to prepare: the plan has no shards")
    for s in plan:
        _check_split_name(s.split)
        if not s.ids:
            raise ValueError(f"empty shard in split {s.split!r}")
    fp = _fingerprint(info, plan)
    if out.exists():
        if is_prepared(out):
            idx = json.loads((out / "index.json").read_text())
            if idx.get("fingerprint") == fp and not overwrite:
                log.info("%s is already prepared (same parameters)", out)
                return PreparedDataset(out)
        if not overwrite:
            raise ValueError(f"{out} already exists (and is a different preparation); pass overwrite=True "
                             f"(--overwrite) or choose another --out")
        if not is_prepared(out) and out.is_dir() and any(out.iterdir()):
            raise ValueError(f"{out} is a non-empty directory that is not a prepared dataset; refusing to "
                             f"overwrite it")
    staging = out.with_name(out.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    plan_path = staging / _PLAN_FILE
    old = None
    if plan_path.exists():
        try:
            old = json.loads(plan_path.read_text()).get("fingerprint")
        except ValueError:
            old = None
    if old != fp and (staging / "shards").exists():
        log.info("%s: staging directory is from other parameters; restarting", staging)
        shutil.rmtree(staging / "shards")
    _json_dump({"fingerprint": fp, "shards": [[p.split, len(p.ids)] for p in plan]}, plan_path)

    counters: dict[str, int] = {}
    names = []
    for p in plan:
        k = counters.get(p.split, 0)
        counters[p.split] = k + 1
        names.append(_shard_name(p.split, k))
    # shown on a terminal only (quiet in logs and pipes), and never with progress=False
    bar = show_progress(total=sum(len(p.ids) for p in plan), desc=desc or str(info.get("name", out.name)),
                        unit="seq", enabled=None if progress else False)
    produced = 0
    try:
        for p, name in zip(plan, names):
            path = staging / name
            head = _read_shard_header(path) if path.exists() else None
            if head is not None and head[0] == list(p.ids):
                bar.update(len(p.ids))
                continue
            records = list(produce(p))
            got = [r.id for r in records]
            if got != list(p.ids):
                raise RuntimeError(f"producer returned ids {got[:3]}... for a shard planned as {p.ids[:3]}...")
            _write_shard(path, records)
            _json_dump([r.meta for r in records], path.with_suffix(".meta.json"))
            produced += 1
            bar.update(len(p.ids))
    finally:
        bar.close()

    splits: dict[str, Any] = {}
    shape = None
    for p, name in zip(plan, names):
        path = staging / name
        ids, offsets = _read_shard_header(path)  # type: ignore[misc]
        meta_path = path.with_suffix(".meta.json")
        metas = json.loads(meta_path.read_text()) if meta_path.exists() else [{}] * len(ids)
        with np.load(path, allow_pickle=False) as z:
            shape = shape or list(z["joints"].shape[1:])
        sp = splits.setdefault(p.split, {"num_sequences": 0, "num_frames": 0, "shards": [], "sequences": []})
        k = len(sp["shards"])
        lengths = np.diff(offsets)
        sp["shards"].append({"file": name, "num_sequences": len(ids), "num_frames": int(offsets[-1]),
                             "sha256": _sha256(path)})
        for i, (sid, n, m) in enumerate(zip(ids, lengths, metas)):
            row = {"id": sid, "length": int(n), "shard": k, "index": i}
            if m:
                row["meta"] = m
            sp["sequences"].append(row)
        sp["num_sequences"] += len(ids)
        sp["num_frames"] += int(offsets[-1])
    from .. import __version__

    class_names = list(info.get("class_names") or [])
    bg = info.get("background_index")
    index = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "name": info.get("name", out.name),
        "layout": info.get("layout", "ntu25"), "fps": float(info.get("fps", 30.0)),
        "num_persons": shape[0], "num_joints": shape[1], "num_channels": shape[2],
        "class_names": class_names, "background_index": bg,
        "label_names": class_names + (["background"] if bg is not None else []),
        "labels": info.get("labels", "frame" if class_names else "none"), "ignore_index": IGNORE_INDEX,
        "preprocessing": info.get("preprocessing", {}), "source": info.get("source", {}),
        "seed": info.get("seed"), "params": info.get("params", {}),
        "created": {"skelzoo_version": __version__,
                    "time": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()},
        "fingerprint": fp, "splits": splits,
    }
    for key, val in info.items():
        index.setdefault(key, val)
    _json_dump(index, staging / "index.json")
    for name in names:
        (staging / name).with_suffix(".meta.json").unlink(missing_ok=True)
    plan_path.unlink(missing_ok=True)
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    log.info("prepared %s (%d shards written, %d kept)", out, produced, len(plan) - produced)
    return PreparedDataset(out)


# ----------------------------------------------------------------------------- reading
def _npz_memmap(path: Path, key: str) -> np.ndarray | None:
    """Memory-map member ``key`` of an uncompressed ``.npz``; ``None`` when that is not possible."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(key + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            head = f.read(30)
            if head[:4] != b"PK\x03\x04":
                return None
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            f.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                return None
            offset = f.tell()
        if dtype.hasobject or int(np.prod(shape)) == 0:
            return None
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


class PreparedDataset:
    """Reader of a prepared directory (see the module docstring); shards are opened lazily.

    Args:
        root: the prepared directory (with ``index.json``).
        mmap: memory-map shard arrays (default); otherwise each shard is loaded into memory on first use.

    Picklable (for DataLoader workers): the open shards are not pickled, each process reopens them.
    """

    def __init__(self, root: str | os.PathLike, *, mmap: bool = True) -> None:
        self.root = Path(root)
        path = self.root / "index.json"
        if not path.exists():
            raise FileNotFoundError(f"{self.root}: not a prepared dataset (no index.json); "
                                    f"build one with 'skelzoo data prepare'")
        try:
            self.index: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ValueError(f"{path}: invalid JSON ({e})") from None
        if self.index.get("format") != FORMAT_NAME:
            raise ValueError(f"{path}: not a skelzoo prepared index (format {self.index.get('format')!r})")
        if int(self.index.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"{path}: format version {self.index['format_version']} is newer than this "
                             f"skelzoo supports ({FORMAT_VERSION}); upgrade skelzoo")
        self.mmap = mmap
        self._shards: dict[tuple[str, int], dict[str, np.ndarray]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_shards"] = {}
        return state

    def __repr__(self) -> str:
        counts = ", ".join(f"{s}={self.num_sequences(s)}" for s in self.splits)
        return f"PreparedDataset({str(self.root)!r}, {self.index.get('name')!r}, {counts})"

    # ------------------------------------------------------------------ metadata
    @property
    def name(self) -> str:
        return str(self.index.get("name"))

    @property
    def splits(self) -> list[str]:
        """Split names."""
        return list(self.index["splits"])

    @property
    def layout(self) -> str:
        return str(self.index["layout"])

    @property
    def fps(self) -> float:
        return float(self.index["fps"])

    @property
    def preprocess(self) -> str:
        """The model-input preprocessing the stored data already carries, as a checkpoint's ``preprocess``
        value: ``"ntu"`` when the sequences were NTU pre-normalised at preparation, else ``""``. Models
        trained on this dataset must record it, so that inference applies the same normalisation."""
        pre = self.index.get("preprocessing") or {}
        if isinstance(pre, dict) and isinstance(pre.get("code"), str):
            return pre["code"]  # e.g. "coco2d" (skelzoo.data.norm2d)
        return "ntu" if isinstance(pre, dict) and pre.get("ntu_pre_normalisation") else ""

    @property
    def class_names(self) -> list[str]:
        """Foreground class names (``K``)."""
        return list(self.index.get("class_names") or [])

    @property
    def background_index(self) -> int | None:
        """Index of the background class (``K``), or ``None`` when the dataset has none."""
        bg = self.index.get("background_index")
        return None if bg is None else int(bg)

    @property
    def num_classes(self) -> int:
        """Number of output classes including background (``K + 1``; ``K`` without background)."""
        return len(self.class_names) + (1 if self.background_index is not None else 0)

    def _split(self, split: str) -> dict[str, Any]:
        try:
            return self.index["splits"][split]
        except KeyError:
            raise KeyError(f"no split {split!r} in {self.root} (splits: {', '.join(self.splits)})") from None

    def num_sequences(self, split: str) -> int:
        return len(self._split(split)["sequences"])

    def num_frames(self, split: str) -> int:
        return int(self._split(split)["num_frames"])

    def ids(self, split: str) -> list[str]:
        return [s["id"] for s in self._split(split)["sequences"]]

    def lengths(self, split: str) -> np.ndarray:
        """int64 ``(n,)`` sequence lengths of ``split``."""
        return np.array([s["length"] for s in self._split(split)["sequences"]], dtype=np.int64)

    def meta(self, split: str, i: int) -> dict[str, Any]:
        """Per-sequence metadata stored at preparation (e.g. composed segments, source clip, style)."""
        return dict(self._split(split)["sequences"][i].get("meta", {}))

    # ------------------------------------------------------------------ data
    def _shard(self, split: str, k: int) -> dict[str, np.ndarray]:
        key = (split, k)
        sh = self._shards.get(key)
        if sh is None:
            path = self.root / self._split(split)["shards"][k]["file"]
            if not path.exists():
                raise FileNotFoundError(f"{path}: shard missing (incomplete copy of the prepared dataset?)")
            sh = {}
            if self.mmap:
                for name in ("joints", "labels"):
                    arr = _npz_memmap(path, name)
                    if arr is not None:
                        sh[name] = arr
            with np.load(path, allow_pickle=False) as z:
                for name in ("joints", "labels", "offsets"):
                    if name not in sh:
                        sh[name] = np.asarray(z[name])
            self._shards[key] = sh
        return sh

    def get(self, split: str, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Sequence ``i`` of ``split``: ``(data float32 (T, M, V, C), labels int64 (T,))`` (fresh copies)."""
        rows = self._split(split)["sequences"]
        if not -len(rows) <= i < len(rows):
            raise IndexError(f"sequence index {i} out of range for split {split!r} ({len(rows)} sequences)")
        row = rows[i]
        sh = self._shard(split, int(row["shard"]))
        a, b = int(sh["offsets"][row["index"]]), int(sh["offsets"][row["index"] + 1])
        return np.array(sh["joints"][a:b], dtype=np.float32), np.array(sh["labels"][a:b], dtype=np.int64)

    def get_by_id(self, split: str, seq_id: str) -> tuple[np.ndarray, np.ndarray]:
        ids = self.ids(split)
        try:
            return self.get(split, ids.index(seq_id))
        except ValueError:
            raise KeyError(f"no sequence {seq_id!r} in split {split!r}") from None

    def iter_split(self, split: str) -> Iterable[tuple[str, np.ndarray, np.ndarray]]:
        """``(id, data, labels)`` of every sequence of ``split``, in order."""
        for i, sid in enumerate(self.ids(split)):
            data, labels = self.get(split, i)
            yield sid, data, labels

    def verify(self) -> None:
        """Check every shard's SHA-256 against ``index.json``; raises ``ValueError`` on a mismatch."""
        for split in self.splits:
            for sh in self._split(split)["shards"]:
                path = self.root / sh["file"]
                if not path.exists():
                    raise FileNotFoundError(f"{path}: shard missing")
                if sh.get("sha256") and _sha256(path) != sh["sha256"]:
                    raise ValueError(f"{path}: checksum mismatch (corrupted or modified shard)")

    def summary(self) -> dict[str, Any]:
        """Counts per split: sequences, frames, and (for labelled data) frames and segments per class."""
        out: dict[str, Any] = {"name": self.name, "root": str(self.root), "splits": {}}
        names = self.index.get("label_names") or []
        for split in self.splits:
            frames: dict[str, int] = {}
            segs: dict[str, int] = {}
            for _, _, lab in self.iter_split(split):
                vals, counts = np.unique(lab, return_counts=True)
                for v, c in zip(vals, counts):
                    key = names[v] if 0 <= v < len(names) else str(int(v))
                    frames[key] = frames.get(key, 0) + int(c)
                if len(lab):
                    starts = np.flatnonzero(np.diff(lab, prepend=lab[0] - 1) != 0)
                    for v in lab[starts]:
                        key = names[v] if 0 <= v < len(names) else str(int(v))
                        segs[key] = segs.get(key, 0) + 1
            lengths = self.lengths(split)
            out["splits"][split] = {
                "sequences": int(len(lengths)), "frames": int(lengths.sum()),
                "min_length": int(lengths.min()) if len(lengths) else 0,
                "max_length": int(lengths.max()) if len(lengths) else 0,
                "mean_length": float(round(lengths.mean(), 1)) if len(lengths) else 0.0,
                "frames_per_class": frames, "segments_per_class": segs,
            }
        return out


# ----------------------------------------------------------------------------- user recordings
def _load_label_spec(path: Path) -> tuple[list[str], dict[str, list]]:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such labels file") from None
    except ValueError as e:
        raise ValueError(f"{path}: invalid JSON ({e})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("classes"), list) or not isinstance(
            spec.get("sequences"), dict):
        raise ValueError(f"{path}: expected "
                         f"{{\"classes\": [names], \"sequences\": {{file: [[class, start, end], ...]}}}}")
    return [str(c) for c in spec["classes"]], spec["sequences"]


def _frame_labels(segments: list, n: int, classes: list[str], where: str) -> np.ndarray:
    """Per-frame labels of one sequence from its ``[class, start, end)`` segments (frames at the prepared rate).

    Refused with a ``ValueError`` naming the segment (never silently overwritten or clipped): a malformed
    segment, an unknown class, a non-numeric / NaN frame, ``end <= start``, a start before 0 or an end more
    than one frame past the sequence (one frame of rounding from the rate change is tolerated), and segments
    that overlap."""
    bg = len(classes)
    lab = np.full(n, bg, np.int64)
    rows = []
    for k, seg in enumerate(segments):
        at = f"{where}, segment {k} {seg!r}"
        if not isinstance(seg, (list, tuple)) or len(seg) != 3:
            raise ValueError(f"{at}: each segment must be [class, start_frame, end_frame]")
        c, a, b = seg
        if isinstance(c, str):
            if c not in classes:
                raise ValueError(f"{at}: unknown class {c!r} (classes: {', '.join(classes)})")
            c = classes.index(c)
        if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < bg:
            raise ValueError(f"{at}: class index {c!r} out of range 0..{bg - 1}")
        try:
            fa, fb = float(a), float(b)
        except (TypeError, ValueError):
            raise ValueError(f"{at}: start and end must be frame numbers") from None
        if not (np.isfinite(fa) and np.isfinite(fb)):
            raise ValueError(f"{at}: start/end is NaN or infinite")
        if fb <= fa:
            raise ValueError(f"{at}: end {b} is not after start {a}")
        if fa < 0 or fb > n + 1:
            raise ValueError(f"{at}: frames {a}-{b} are outside the sequence (0-{n})")
        rows.append((int(round(fa)), min(n, int(round(fb))), c, k, seg))
    rows.sort()
    for (a0, b0, _, k0, s0), (a1, _, _, k1, s1) in zip(rows, rows[1:]):
        if a1 < b0:
            raise ValueError(f"{where}: segment {k1} {s1!r} overlaps segment {k0} {s0!r}")
    for a, b, c, _, _ in rows:
        lab[a:b] = c
    return lab


def prepare_files(paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
                  labels: str | os.PathLike | None = None, format: str | None = None, fps: float = 30.0,
                  num_persons: int = 1, split: str = "all", normalise: bool = True, per_shard: int = 256,
                  progress: bool = True, overwrite: bool = False) -> PreparedDataset:
    """Prepare a user's own recordings (any format :func:`skelzoo.io.read_skeleton` reads).

    Each file becomes one sequence of split ``split``: converted to ``ntu25`` (joints the source lacks
    copied from a neighbour), resampled to ``fps`` (nearest frame), ``num_persons`` most energetic
    persons kept, remaining missing joints interpolated in time, then (``normalise``) the NTU
    pre-normalisation of docs/method.md §1.3.

    ``labels`` (optional): a JSON file ``{"classes": [K names], "sequences": {"<file name or stem>":
    [[class name or index, start_frame, end_frame], ...]}}`` in frames of the *output* rate, end
    exclusive; uncovered frames are background (index ``K``). Without it frames are unlabelled (-100).
    """
    from ..io import read_skeleton
    from . import transforms as tf

    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("no input files")
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such file")
    classes, seg_map = _load_label_spec(Path(labels)) if labels is not None else ([], {})
    ids, seen = [], set()
    for f in files:
        sid = f.name
        k = 1
        while sid in seen:
            k += 1
            sid = f"{f.name}#{k}"
        seen.add(sid)
        ids.append(sid)

    def produce(shard: ShardPlan) -> list[SequenceRecord]:
        out = []
        for sid, f in shard.task:
            seq = read_skeleton(f, format=format)
            if seq.layout not in ("ntu25", "ntu25_pyskl"):
                from ..io import convert_layout

                seq = convert_layout(seq, "ntu25", fill="neighbour")
            if abs(seq.fps - fps) > 1e-3 * fps:
                seq = tf.resample(seq, fps)
            seq = tf.select_persons(seq, num_persons)
            seq = tf.fill_missing(seq)
            if normalise and seq.num_channels == 3:
                seq = tf.ntu_pre_normalise(seq)
            lab = None
            if labels is not None:
                segs = seg_map.get(f.name, seg_map.get(f.stem, []))
                lab = _frame_labels(segs, seq.num_frames, classes, f"{labels}: {f.name}")
            out.append(SequenceRecord(sid, seq.data, lab, {"source": str(f)}))
        return out

    plan = plan_shards(split, ids, list(zip(ids, files)), per_shard=per_shard)
    info = {
        "name": "files", "layout": "ntu25", "fps": fps, "class_names": classes,
        "background_index": len(classes) if classes else None, "labels": "frame" if classes else "none",
        "preprocessing": {"layout": "ntu25 (missing joints copied from a neighbour)",
                          "resample": f"nearest to {fps} fps",
                          "persons": f"{num_persons} most energetic", "fill_missing": "linear interpolation in time",
                          "ntu_pre_normalisation": bool(normalise)},
        "source": {"files": [str(f) for f in files], "labels": str(labels) if labels else None},
        "seed": None, "params": {"format": format, "fps": fps, "num_persons": num_persons, "split": split,
                                 "normalise": normalise},
    }
    return write_prepared(out_dir, plan, produce, info=info, progress=progress, overwrite=overwrite)
