"""Bandai Namco Research Motion datasets: parsing, and the untrimmed localization benchmark.

Sources (CC BY-NC 4.0; anything trained on them inherits the non-commercial terms):
dataset 2 (2,902 BVH clips, 10 content classes x 7 styles) and dataset 1 (174 clips, 17 contents x 15
styles), 30 fps, one action per clip. Read straight from the ``.tar.xz`` archives (or from extracted
``Bandai-Namco-Research-Motiondataset-N`` folders); nothing is unpacked into the working tree.

**bandai-untrimmed** (:func:`prepare_bandai_untrimmed`, dataset card ``docs/datasets/bandai_untrimmed.md``):
long sequences composed by chaining dataset-2 clips of different actions, one style per sequence,
with per-frame labels (10 classes, background = 10). At every junction the next clip is rotated about
the vertical axis so that its heading matches the previous clip and translated so that its root
continues from there, then cross-faded over ``blend`` frames; blend frames with weight < 0.5 keep the
previous label, the others take the next one. Background gaps are either an idle hold of the last pose
(velocity decaying, slight upper-body sway) or an excerpt of a dataset-1 action that none of the 10
classes covers (bow, guide, respond, punch, kick, slash, dance). Train/test are split by style so the
test styles are unseen (:data:`TEST_STYLES`). Every composed sequence is NTU pre-normalised
(docs/method.md §1.3).

**bandai-clips** (:func:`prepare_bandai_clips`): every clip of both datasets as its own sequence
(NTU pre-normalised per clip), same style split, for contrastive pretraining.
"""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .prepare import PreparedDataset, SequenceRecord, ShardPlan, is_prepared, plan_shards, write_prepared

__all__ = [
    "ARCHIVE_NAMES", "FOLDER_NAMES", "CONTENT_CLASSES", "STYLES", "TEST_STYLES", "DS1_BACKGROUND_CONTENTS",
    "DS1_TEST_STYLES", "DEFAULT_VAL_STYLES", "ClipInfo", "ComposeConfig", "find_bandai_source", "list_bandai_clips",
    "parse_bandai_clips", "heading", "align_to", "compose_sequence", "plan_split",
    "prepare_bandai_untrimmed", "prepare_bandai_clips",
]

log = logging.getLogger(__name__)

ARCHIVE_NAMES = {1: "bandai-namco-motion-1.tar.xz", 2: "bandai-namco-motion-2.tar.xz"}
FOLDER_NAMES = {1: "Bandai-Namco-Research-Motiondataset-1", 2: "Bandai-Namco-Research-Motiondataset-2"}
#: dataset-2 content labels (``cfg/content_label.txt`` without the ``dataset-2_`` prefix), for reference;
#: the preparation reads the names from the archive.
CONTENT_CLASSES = ("walk", "walk-turn-left", "walk-turn-right", "run", "wave-both-hands", "wave-left-hand",
                   "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand")
STYLES = ("active", "elderly", "exhausted", "feminine", "masculine", "normal", "youthful")
#: dataset-2 styles of the test split (unseen in training); the other five are training styles
TEST_STYLES = ("elderly", "youthful")
#: dataset-1 contents used as background ("other action") gaps: none overlaps the 10 classes
#: (walk/run/dash/walk-back/left/right are locomotion, bye/byebye/call are hand waves: excluded)
DS1_BACKGROUND_CONTENTS = ("bow", "guide", "respond", "punch", "kick", "slash", "dance-long", "dance-short")
#: dataset-1 styles whose clips are test-split background (the other twelve: training)
DS1_TEST_STYLES = ("old", "childish", "sad")
#: dataset-2 training style held out as the ``val`` split when ``val_styles="default"`` (model selection only;
#: its clips are then in neither ``train`` nor ``test``)
DEFAULT_VAL_STYLES = ("exhausted",)
LICENSE = "CC BY-NC 4.0 (Bandai Namco Research Motion datasets; non-commercial, attribution)"

# NTU-25 0-based joints
_ROOT, _L_HIP, _R_HIP, _L_SH, _R_SH = 0, 12, 16, 4, 8
_UPPER = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20, 21, 22, 23, 24)


@dataclass(frozen=True)
class ClipInfo:
    """One BVH clip: ``id`` is the file stem (``dataset-2_walk_normal_001``)."""

    id: str
    dataset: int
    content: str
    style: str
    member: str


# ----------------------------------------------------------------------------- sources
def find_bandai_source(data_dir: str | os.PathLike, dataset: int) -> Path | None:
    """The archive ``bandai-namco-motion-N.tar.xz`` or extracted folder of ``dataset`` under ``data_dir``
    (or ``data_dir`` itself when it is one of them); ``None`` when absent."""
    d = Path(data_dir)
    if d.is_file() and d.name == ARCHIVE_NAMES[dataset]:
        return d
    if d.is_dir() and d.name == FOLDER_NAMES[dataset] and (d / "data").is_dir():
        return d
    for cand in (d / ARCHIVE_NAMES[dataset], d / FOLDER_NAMES[dataset]):
        if cand.exists():
            return cand
    return None


def _strip(name: str, dataset: int) -> str:
    name = name.strip()
    pre = f"dataset-{dataset}_"
    return name[len(pre):] if name.startswith(pre) else name


def _iter_members(source: Path, wanted: Callable[[str], bool] | None = None) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of the files of an archive (streamed, archive order) or folder (sorted)."""
    if source.is_dir():
        for p in sorted(source.rglob("*")):
            if p.is_file():
                rel = p.relative_to(source.parent).as_posix()
                if wanted is None or wanted(rel):
                    yield rel, p.read_bytes()
        return
    with tarfile.open(source, mode="r|*") as tf:
        for m in tf:
            if not m.isfile():
                continue
            if wanted is not None and not wanted(m.name):
                continue
            f = tf.extractfile(m)
            if f is not None:
                yield m.name, f.read()


def _rank(seed: int, clip_id: str) -> str:
    return hashlib.sha1(f"{seed}:{clip_id}".encode()).hexdigest()


def _scan(source: Path, dataset: int, per_group: int | None = None, seed: int = 0
          ) -> tuple[list[ClipInfo], list[str], list[str], dict[str, bytes]]:
    """One pass over a source: all clips, the label names, and (``per_group``) the bytes of the
    ``per_group`` clips of each group with the smallest seeded hash of their id (groups: (content,
    style) for dataset 2, content for dataset 1)."""
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such archive or folder")
    bvh: list[str] = []
    labels: dict[str, dict] = {}
    contents: list[str] = []
    styles: list[str] = []
    kept: dict[tuple[str, str], list[tuple[str, str, bytes]]] = {}
    wanted = lambda n: n.endswith((".bvh", ".json", "content_label.txt", "style_label.txt"))  # noqa: E731
    try:
        for name, blob in _iter_members(source, wanted):
            base = name.rsplit("/", 1)[-1]
            if base == "content_label.txt":
                contents = [_strip(s, dataset) for s in blob.decode("utf-8").splitlines() if s.strip()]
            elif base == "style_label.txt":
                styles = [_strip(s, dataset) for s in blob.decode("utf-8").splitlines() if s.strip()]
            elif base.endswith(".json") and "/data/" in f"/{name}":
                try:
                    labels[base[:-5]] = json.loads(blob.decode("utf-8"))
                except ValueError:
                    log.warning("%s: unreadable label JSON, using the file name", name)
            elif base.endswith(".bvh"):
                bvh.append(name)
                if per_group is not None:
                    parts = base[:-4].split("_")
                    key = (parts[1], parts[2] if dataset == 2 else "") if len(parts) >= 4 else ("", "")
                    group = kept.setdefault(key, [])
                    group.append((_rank(seed, base[:-4]), name, blob))
                    group.sort()
                    del group[per_group:]
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ValueError(f"{source}: cannot read the archive ({e})") from None
    if not bvh:
        raise ValueError(f"{source}: no .bvh clips found")
    clips = []
    for name in bvh:
        stem = name.rsplit("/", 1)[-1][:-4]
        parts = stem.split("_")
        content = parts[1] if len(parts) >= 4 else "unknown"
        style = parts[2] if len(parts) >= 4 else "unknown"
        lab = labels.get(stem)
        if lab is not None and contents and styles:
            try:
                c, s = contents[int(lab["content"])], styles[int(lab["style"])]
                if (c, s) != (content, style):
                    log.warning("%s: JSON labels (%s, %s) differ from the file name; using the JSON", stem, c, s)
                content, style = c, s
            except (KeyError, IndexError, TypeError, ValueError):
                log.warning("%s: bad label JSON %r, using the file name", stem, lab)
        clips.append(ClipInfo(stem, dataset, content, style, name))
    if not contents:
        contents = sorted({c.content for c in clips})
    if not styles:
        styles = sorted({c.style for c in clips})
    blobs = {name: blob for group in kept.values() for _, name, blob in group}
    if per_group is not None:
        clips = [c for c in clips if c.member in blobs]
    return clips, contents, styles, blobs


def list_bandai_clips(source: str | os.PathLike, dataset: int) -> tuple[list[ClipInfo], list[str], list[str]]:
    """Clips of an archive/folder (source order) with their labels, and the content and style names.

    Labels come from each clip's sibling JSON (``{"content": i, "style": j}``, 0-based into
    ``cfg/content_label.txt`` / ``cfg/style_label.txt``); names lose their ``dataset-N_`` prefix.
    """
    clips, contents, styles, _ = _scan(Path(source), dataset)
    return clips, contents, styles


# ----------------------------------------------------------------------------- parsing (parse cache)
def _parse_one(item: tuple[str, bytes]) -> np.ndarray:
    """BVH bytes -> NTU-25 world positions float32 ``(T, 25, 3)`` (metres, Y up)."""
    from ..io import convert_layout, read_bvh

    name, blob = item
    fd, tmp = tempfile.mkstemp(suffix=".bvh", prefix="skelzoo-bandai-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        seq = read_bvh(tmp)
    finally:
        os.unlink(tmp)
    seq = convert_layout(seq, "ntu25", fill="neighbour")
    return np.ascontiguousarray(seq.data[:, 0], dtype=np.float32)


class _StreamParser:
    """Produces parse-cache shards in source order from one forward pass over each source."""

    def __init__(self, sources: dict[int, Path], workers: int, preloaded: dict[str, bytes] | None = None) -> None:
        self.sources = sources
        self.preloaded = preloaded or {}
        self.workers = workers
        self._streams: dict[int, Iterator[tuple[str, bytes]]] = {}
        self._pool: ProcessPoolExecutor | None = None

    def _stream(self, dataset: int) -> Iterator[tuple[str, bytes]]:
        if dataset not in self._streams:
            self._streams[dataset] = _iter_members(self.sources[dataset], lambda n: n.endswith(".bvh"))
        return self._streams[dataset]

    def __call__(self, shard: ShardPlan) -> list[SequenceRecord]:
        infos: list[ClipInfo] = shard.task
        need = {c.member: c for c in infos}
        got: dict[str, bytes] = {m: self.preloaded[m] for m in need if m in self.preloaded}
        by_ds: dict[int, set[str]] = {}
        for c in infos:
            by_ds.setdefault(c.dataset, set()).add(c.member)
        for ds, members in by_ds.items():
            stream = self._stream(ds)
            while not members <= got.keys():
                try:
                    name, blob = next(stream)
                except StopIteration:
                    raise ValueError(f"{self.sources[ds]}: clip(s) missing from the archive: "
                                     f"{sorted(members - got.keys())[:3]}") from None
                if name in need:
                    got[name] = blob
        items = [(c.member, got[c.member]) for c in infos]
        if self.workers > 1:
            if self._pool is None:
                ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
            arrays = list(self._pool.map(_parse_one, items, chunksize=4))
        else:
            arrays = [_parse_one(it) for it in items]
        return [SequenceRecord(c.id, a[:, None], None, {"dataset": c.dataset, "content": c.content, "style": c.style})
                for c, a in zip(infos, arrays)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def parse_bandai_clips(data_dir: str | os.PathLike, cache_dir: str | os.PathLike, *,
                       datasets: Sequence[int] = (1, 2), workers: int | None = None,
                       clips_per_group: int | None = None, subset_seed: int = 0, progress: bool = True,
                       required: Sequence[int] = (2,)) -> tuple[PreparedDataset, dict[int, dict[str, list[str]]]]:
    """Parse every clip once into a prepared directory ``cache_dir`` (raw NTU-25 world positions,
    metres, Y up, one split per dataset: ``dataset-1``, ``dataset-2``; per-clip meta: content, style).

    Resumable like every preparation; a complete cache with the same parameters is reused as is.
    ``clips_per_group`` keeps a seeded subset of that many clips per dataset-2 (content, style) and per
    dataset-1 content (the
    ones with the smallest ``sha1(f"{subset_seed}:{id}")``), read in the listing pass (tests).
    Returns the cache and ``{dataset: {"contents": [...], "styles": [...]}}``.
    """
    sources: dict[int, Path] = {}
    for ds in datasets:
        src = find_bandai_source(data_dir, ds)
        if src is None:
            if ds in required:
                raise FileNotFoundError(f"{data_dir}: no {ARCHIVE_NAMES[ds]} (or extracted {FOLDER_NAMES[ds]}/)")
            log.warning("%s: Bandai dataset %d not found; continuing without it", data_dir, ds)
            continue
        sources[ds] = src
    cache_dir = Path(cache_dir)
    params = {"datasets": sorted(sources), "clips_per_group": clips_per_group,
              "subset_seed": subset_seed if clips_per_group is not None else None}
    if is_prepared(cache_dir):
        cache = PreparedDataset(cache_dir)
        if cache.index.get("params", {}).get("selection") == params:
            return cache, {int(k): v for k, v in cache.index["source"]["labels"].items()}
    names: dict[int, dict[str, list[str]]] = {}
    plan: list[ShardPlan] = []
    source_info = {}
    preloaded: dict[str, bytes] = {}
    for ds, src in sources.items():
        clips, contents, styles, blobs = _scan(src, ds, clips_per_group, subset_seed)
        preloaded.update(blobs)
        names[ds] = {"contents": contents, "styles": styles}
        source_info[ds] = {"path": str(src), "clips": len(clips),
                           "sha1_of_ids": hashlib.sha1("\n".join(c.id for c in clips).encode()).hexdigest()}
        plan += plan_shards(f"dataset-{ds}", [c.id for c in clips], clips, per_shard=256)
    workers = _default_workers() if workers is None else max(1, int(workers))
    producer = _StreamParser(sources, workers, preloaded)
    info = {"name": "bandai-parsed", "layout": "ntu25", "fps": 30.0, "class_names": [], "background_index": None,
            "labels": "none",
            "preprocessing": {"bvh": "forward kinematics (skelzoo.io.read_bvh), metres, Y up",
                              "layout": "ntu25; hand tips and thumbs copied from the hand (fill='neighbour')"},
            "source": {"datasets": {str(k): v for k, v in source_info.items()},
                       "labels": {str(k): v for k, v in names.items()}, "license": LICENSE},
            "seed": None, "params": {"selection": params}}
    try:
        cache = write_prepared(cache_dir, plan, producer, info=info, progress=progress, overwrite=True,
                               desc="parse BVH")
    finally:
        producer.close()
    return cache, names


def _default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        n = os.cpu_count() or 1
    return max(1, min(4, n))


# ----------------------------------------------------------------------------- geometry
def heading(frame: np.ndarray) -> float:
    """Facing angle (radians, about +Y) of an NTU-25 frame ``(25, 3)`` (Y up): ``atan2(f_x, f_z)`` of the
    forward direction ``(left - right) x up`` from the hips and shoulders; 0 = facing +Z."""
    across = (frame[_L_HIP] - frame[_R_HIP]) + (frame[_L_SH] - frame[_R_SH])
    fx, fz = -across[2], across[0]
    if fx * fx + fz * fz < 1e-12:
        return 0.0
    return float(np.arctan2(fx, fz))


def _yaw(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def align_to(clip: np.ndarray, target_frame: np.ndarray) -> np.ndarray:
    """Rotate ``clip`` ``(T, 25, 3)`` about the vertical axis through its first root position so that its
    first frame has the heading of ``target_frame``, and move it horizontally so that its first root
    position is the target's root (heights are kept: every clip stands on the same floor)."""
    rot = _yaw(heading(target_frame) - heading(clip[0]))
    pivot = clip[0, _ROOT] * np.array([1.0, 0.0, 1.0])
    dest = target_frame[_ROOT] * np.array([1.0, 0.0, 1.0])
    return ((clip - pivot) @ rot.T + dest).astype(np.float32)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3 - 2 * x)


def _idle(last: np.ndarray, prev: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` idle frames after pose ``last``: the last velocity decays (tau 3 frames), the upper body
    sways slightly (about 1 cm, 2-4 s period) and joints jitter by about 2 mm (smoothed)."""
    i = np.arange(1, n + 1, dtype=np.float64)
    v = np.zeros_like(last) if prev is None else np.clip(last - prev, -0.03, 0.03)
    tau = 3.0
    out = last[None] + v[None] * (tau * (1 - np.exp(-i / tau)))[:, None, None]
    period = rng.uniform(60, 120)
    amp = rng.uniform(0.005, 0.012)
    direction = rng.normal(size=3) * np.array([1.0, 0.3, 1.0])
    direction /= max(np.linalg.norm(direction), 1e-9)
    sway = amp * np.sin(2 * np.pi * i / period)[:, None] * direction[None]
    out[:, list(_UPPER)] += sway[:, None, :]
    noise = rng.normal(0, 0.002, (n + 4,) + last.shape)
    noise = (noise[:-4] + noise[1:-3] + noise[2:-2] + noise[3:-1] + noise[4:]) / np.sqrt(5)
    ramp = np.minimum(1.0, i / 5.0)[:, None, None]
    return (out + noise * ramp).astype(np.float32)


@dataclass(frozen=True)
class ComposeConfig:
    """Composition parameters of :func:`prepare_bandai_untrimmed` (frames at 30 fps)."""

    min_clips: int = 4
    max_clips: int = 8
    max_frames: int = 1000
    max_clip_frames: int = 150
    blend: int = 8
    gap_prob: float = 0.4
    edge_gap_prob: float = 0.25
    idle_frames: tuple[int, int] = (15, 60)
    other_prob: float = 0.5
    other_frames: tuple[int, int] = (30, 90)

    def __post_init__(self) -> None:
        if not 1 <= self.min_clips <= self.max_clips:
            raise ValueError("need 1 <= min_clips <= max_clips")
        if self.blend < 0 or self.max_clip_frames <= self.blend or self.max_frames < self.max_clip_frames:
            raise ValueError("need 0 <= blend < max_clip_frames <= max_frames")
        if self.idle_frames[0] <= self.blend or self.idle_frames[0] > self.idle_frames[1]:
            raise ValueError("idle_frames must be (low, high) with blend < low <= high")
        if self.other_frames[0] <= self.blend or self.other_frames[0] > self.other_frames[1]:
            raise ValueError("other_frames must be (low, high) with blend < low <= high")


def compose_sequence(items: Sequence[tuple[str, int, str | None, np.ndarray | int]], *, blend: int = 8,
                     rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray, list[list]]:
    """Chain items into one sequence (world coordinates, Y up).

    Args:
        items: ``(kind, label, source_id, payload)``: ``kind`` ``"clip"``/``"other"`` with payload a
            ``(T, 25, 3)`` array, or ``"idle"`` with payload a frame count.
        blend: cross-fade length at every junction into a clip.
        rng: generator of the idle motion.

    Returns ``(data (T, 25, 3) float32, labels (T,) int64, segments)`` with ``segments`` rows
    ``[label, start, end, source_id, kind]`` (end exclusive) in order.
    """
    rng = rng or np.random.default_rng(0)
    out: np.ndarray | None = None
    labels: np.ndarray | None = None
    segs: list[list] = []
    lead_idle: list[tuple[int, int]] = []
    for kind, label, source, payload in items:
        if kind == "idle":
            n = int(payload)
            if out is None:
                lead_idle.append((label, n))
                continue
            prev = out[-2] if len(out) > 1 else None
            out = np.concatenate([out, _idle(out[-1], prev, n, rng)])
            segs[-1][2] = len(labels)
            segs.append([label, len(labels), len(labels) + n, source, kind])
            labels = np.concatenate([labels, np.full(n, label, np.int64)])
            continue
        clip = np.asarray(payload, dtype=np.float32)
        if out is None:
            if not lead_idle:
                out, labels = clip.copy(), np.full(len(clip), label, np.int64)
                segs.append([label, 0, len(clip), source, kind])
                continue
            # leading idle: a hold that ends in the clip's first pose, then blended like any junction
            n = sum(k for _, k in lead_idle)
            hold = _idle(clip[0], None, n, rng)[::-1]
            out = (hold + (clip[0] - hold[-1])).astype(np.float32)
            labels = np.full(n, lead_idle[0][0], np.int64)
            segs.append([lead_idle[0][0], 0, n, None, "idle"])
        b = max(0, min(blend, len(out) - 1, len(clip) - 1))
        anchor = len(out) - b
        clip = align_to(clip, out[anchor - 1] if b == 0 else out[anchor])
        if b == 0:  # continue after the last frame
            out = np.concatenate([out, clip])
            segs[-1][2] = len(labels)
            segs.append([label, len(labels), len(labels) + len(clip), source, kind])
            labels = np.concatenate([labels, np.full(len(clip), label, np.int64)])
            continue
        w = _smoothstep(np.arange(1, b + 1) / (b + 1.0)).astype(np.float32)[:, None, None]
        out[anchor:] = (1 - w) * out[anchor:] + w * clip[:b]
        switch = anchor + int(np.argmax(w[:, 0, 0] >= 0.5)) if (w >= 0.5).any() else len(out)
        labels[switch:] = label
        segs[-1][2] = switch
        out = np.concatenate([out, clip[b:]])
        labels = np.concatenate([labels, np.full(len(clip) - b, label, np.int64)])
        segs.append([label, switch, len(labels), source, kind])
    if out is None:
        raise ValueError("a sequence needs at least one clip")
    return out.astype(np.float32), labels, segs


# ----------------------------------------------------------------------------- planning
def _trim_window(n: int, max_len: int, rng: np.random.Generator) -> tuple[int, int]:
    """Centred window of ``max_len`` frames, jittered by up to a quarter of the slack."""
    if n <= max_len:
        return 0, n
    slack = n - max_len
    start = slack // 2 + int(rng.integers(-(slack // 4), slack // 4 + 1))
    start = int(np.clip(start, 0, slack))
    return start, start + max_len


def plan_split(fg: dict[str, list[tuple[str, int, int]]], bg: list[tuple[str, int]], num: int | None,
               cfg: ComposeConfig, rng: np.random.Generator, *, background_index: int) -> list[dict[str, Any]]:
    """Plan the sequences of one split.

    Args:
        fg: ``{style: [(clip_id, class_index, num_frames), ...]}`` foreground clips.
        bg: ``[(clip_id, num_frames)]`` "other action" clips for background gaps (may be empty).
        num: number of sequences; ``None`` = until every foreground clip was used once.
        cfg: composition parameters.
        rng: the split's generator.

    Returns one dict per sequence: ``{"style": s, "items": [(kind, label, source_id, start, stop)]}``
    (for ``idle`` items ``source_id`` is ``None`` and ``start, stop = 0, n``).
    """
    styles = sorted(s for s in fg if fg[s])
    if not styles:
        raise ValueError("no foreground clips in this split")
    pools = {s: [fg[s][i] for i in rng.permutation(len(fg[s]))] for s in styles}
    unused = {s: {c[0] for c in fg[s]} for s in styles}  # clips not used yet
    sequences = []
    while True:
        if num is not None and len(sequences) >= num:
            break
        weights = np.array([len(unused[s]) for s in styles], dtype=np.float64)
        if weights.sum() == 0:
            if num is None:
                break
            weights = np.array([len(fg[s]) for s in styles], dtype=np.float64)
        style = styles[int(rng.choice(len(styles), p=weights / weights.sum()))]
        pool = pools[style]
        k = int(rng.integers(cfg.min_clips, cfg.max_clips + 1))
        items: list[tuple] = []
        total = 0
        prev = None

        def gap(budget: int) -> tuple | None:
            if bg and rng.random() < cfg.other_prob:
                cid, n = bg[int(rng.integers(len(bg)))]
                want = int(rng.integers(cfg.other_frames[0], cfg.other_frames[1] + 1))
                a, b = _trim_window(n, min(want, n), rng)
                if b - a <= cfg.blend:
                    return None
                return ("other", background_index, cid, a, b) if (b - a) <= budget else None
            n = int(rng.integers(cfg.idle_frames[0], cfg.idle_frames[1] + 1))
            return ("idle", background_index, None, 0, n) if n <= budget else None

        for j in range(k):
            pick = next((i for i, c in enumerate(pool) if c[1] != prev), None)
            if pick is None:  # pool exhausted (or only the previous class left): refill
                extra = [fg[style][i] for i in rng.permutation(len(fg[style]))]
                pool.extend(extra)
                pick = next((i for i, c in enumerate(pool) if c[1] != prev), None)
                if pick is None:
                    break
            cid, label, n = pool[pick]
            a, b = _trim_window(n, cfg.max_clip_frames, rng)
            cost = (b - a) - (cfg.blend if items else 0)
            if items and total + cost > cfg.max_frames:
                break
            pool.pop(pick)
            unused[style].discard(cid)
            if rng.random() < (cfg.gap_prob if items else cfg.edge_gap_prob):
                g = gap(cfg.max_frames - total - cost)
                if g is not None:
                    items.append(g)
                    total += (g[4] - g[3]) - (cfg.blend if g[0] == "other" and len(items) > 1 else 0)
                    cost = (b - a) - cfg.blend
            items.append(("clip", label, cid, a, b))
            total += cost
            prev = label
        if rng.random() < cfg.edge_gap_prob:
            g = gap(cfg.max_frames - total)
            if g is not None:
                items.append(g)
                total += (g[4] - g[3]) - (cfg.blend if g[0] == "other" else 0)
        sequences.append({"style": style, "items": items, "planned_frames": total})
    return sequences


# ----------------------------------------------------------------------------- preparation
def _load_cache(cache: PreparedDataset) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    data, meta = {}, {}
    for split in cache.splits:
        for i, (cid, d, _) in enumerate(cache.iter_split(split)):
            data[cid] = d[:, 0]
            meta[cid] = cache.meta(split, i)
    return data, meta


def _cache_location(out: Path, cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    staging = out.with_name(out.name + ".partial")
    cache = staging / "parsed"
    if not is_prepared(cache) and is_prepared(out / "parsed"):
        staging.mkdir(parents=True, exist_ok=True)
        if cache.exists():
            shutil.rmtree(cache)
        shutil.copytree(out / "parsed", cache)
    return cache


def _check_val_styles(val_styles: Sequence[str] | str) -> tuple[str, ...]:
    """Validated dataset-2 validation styles (``"default"`` = :data:`DEFAULT_VAL_STYLES`)."""
    if isinstance(val_styles, str):
        val_styles = DEFAULT_VAL_STYLES if val_styles == "default" else [v for v in val_styles.split(",") if v]
    val = tuple(sorted(set(val_styles)))
    bad = [v for v in val if v not in STYLES or v in TEST_STYLES]
    if bad:
        train = [s_ for s_ in STYLES if s_ not in TEST_STYLES]
        raise ValueError(f"validation styles must be dataset-2 training styles {train}, got {bad}")
    if len(val) >= len(STYLES) - len(TEST_STYLES):
        raise ValueError("validation styles would leave no training style")
    return val


def _existing(out: Path, name: str, params: dict, seed: int | None, overwrite: bool) -> dict | None:
    if overwrite or not is_prepared(out):
        return None
    ds = PreparedDataset(out)
    if ds.index.get("name") == name and ds.index.get("params") == json.loads(json.dumps(params)) \
            and ds.index.get("seed") == seed:
        return ds.index
    return None


def _counts(index: dict) -> dict[str, Any]:
    out = {}
    for split, sp in index["splits"].items():
        out[split] = {"sequences": sp["num_sequences"], "frames": sp["num_frames"]}
    return out


def prepare_bandai_untrimmed(data_dir: str | os.PathLike, out_dir: str | os.PathLike, *, seed: int = 0,
                             num_train: int | None = None, num_test: int | None = None,
                             config: ComposeConfig | None = None, background_clips: bool = True,
                             normalise: bool = True, cache_dir: str | os.PathLike | None = None,
                             workers: int | None = None, clips_per_group: int | None = None,
                             progress: bool = True, overwrite: bool = False,
                             val_styles: Sequence[str] = ()) -> dict[str, Any]:
    """Build the Bandai untrimmed localization benchmark into ``out_dir`` (see the module docstring).

    Args:
        data_dir: folder with ``bandai-namco-motion-2.tar.xz`` (required) and ``-1`` (optional, for
            "other action" background gaps), or the extracted folders.
        out_dir: output prepared directory (splits ``train`` and ``test``).
        seed: composition seed (everything is deterministic from it).
        num_train, num_test: number of sequences; ``None`` = every clip of the split used once.
        config: :class:`ComposeConfig`.
        background_clips: use dataset-1 excerpts as background gaps (besides idle holds).
        normalise: NTU pre-normalisation (docs/method.md §1.3) of every composed sequence.
        cache_dir: parse cache (default ``out_dir/parsed``, built on first use, reused afterwards).
        workers: BVH parsing processes (default ``min(4, CPUs)``).
        clips_per_group: only a seeded subset of clips per (dataset, content, style) (tests).
        progress: tqdm progress bars.
        overwrite: replace an existing different ``out_dir``.
        val_styles: dataset-2 training styles held out as a third split ``val`` (for model selection; their
            clips leave ``train``; ``test`` is unchanged). Empty: splits ``train`` and ``test`` only.

    Returns a JSON-able summary: counts per split, timings, paths.
    """
    from . import transforms as tf

    t0 = time.perf_counter()
    cfg = config or ComposeConfig()
    out = Path(out_dir)
    params = {"num_train": num_train, "num_test": num_test, "compose": asdict(cfg),
              "background_clips": background_clips, "normalise": normalise, "clips_per_group": clips_per_group,
              "test_styles": list(TEST_STYLES), "ds1_test_styles": list(DS1_TEST_STYLES),
              "ds1_background_contents": list(DS1_BACKGROUND_CONTENTS)}
    val = _check_val_styles(val_styles)
    if val:
        params["val_styles"] = list(val)
    done = _existing(out, "bandai-untrimmed", params, seed, overwrite)
    if done is not None:
        return {"name": "bandai-untrimmed", "out": str(out), "status": "exists", "splits": _counts(done)}
    cache_path = _cache_location(out, cache_dir)
    cache, names = parse_bandai_clips(data_dir, cache_path, datasets=(1, 2) if background_clips else (2,),
                                      workers=workers, clips_per_group=clips_per_group, subset_seed=seed,
                                      progress=progress)
    t_parse = time.perf_counter() - t0
    clips, meta = _load_cache(cache)
    classes = names[2]["contents"]
    k = len(classes)
    test_styles = set(TEST_STYLES)
    unknown = test_styles - set(names[2]["styles"])
    if unknown:
        raise ValueError(f"test styles {sorted(unknown)} are not styles of dataset 2 ({names[2]['styles']})")
    split_names = ("train", "test", "val") if val else ("train", "test")
    fg: dict[str, dict[str, list]] = {s_: {} for s_ in split_names}
    bg: dict[str, list] = {s_: [] for s_ in split_names}
    for cid in sorted(clips):
        m = meta[cid]
        if m["dataset"] == 2:
            split = "test" if m["style"] in test_styles else "val" if m["style"] in val else "train"
            fg[split].setdefault(m["style"], []).append((cid, classes.index(m["content"]), len(clips[cid])))
        elif m["dataset"] == 1 and m["content"] in DS1_BACKGROUND_CONTENTS:
            split = "test" if m["style"] in DS1_TEST_STYLES else "train"
            bg[split].append((cid, len(clips[cid])))
    if val:
        bg["val"] = bg["train"]  # dataset-1 "other action" gaps: shared with train (they carry no class)
    plans = {}
    # split codes 0 (train), 1 (test), 2 (val): the test split's generator does not depend on val_styles
    for code, (split, num) in enumerate((("train", num_train), ("test", num_test), ("val", None))):
        if split in split_names:
            rng = np.random.default_rng([seed, code])
            plans[split] = plan_split(fg[split], bg[split], num, cfg, rng, background_index=k)

    label_names = classes + ["background"]

    def produce(shard: ShardPlan) -> list[SequenceRecord]:
        recs = []
        for sid, plan, code in shard.task:
            rng = np.random.default_rng([seed, code, int(sid.rsplit("-", 1)[1]), 1])
            items = []
            for kind, label, source, a, b in plan["items"]:
                payload = (b - a) if kind == "idle" else clips[source][a:b]
                items.append((kind, label, source, payload))
            data, labels, segs = compose_sequence(items, blend=cfg.blend, rng=rng)
            if len(data) > cfg.max_frames:  # the planner's budget is exact; this is a safety net
                data, labels = data[:cfg.max_frames], labels[:cfg.max_frames]
                segs = [[s[0], s[1], min(s[2], cfg.max_frames), s[3], s[4]] for s in segs if s[1] < cfg.max_frames]
            arr = data[:, None]
            if normalise:
                arr = tf.ntu_pre_normalise(arr)
            seg_rows = [[label_names[s[0]], s[1], s[2], s[3], s[4]] for s in segs]
            window = {it[2]: [it[3], it[4]] for it in plan["items"] if it[0] != "idle"}
            recs.append(SequenceRecord(sid, arr, labels, {"style": plan["style"], "segments": seg_rows,
                                                           "source_windows": window}))
        return recs

    shard_plan: list[ShardPlan] = []
    for code, split in enumerate(("train", "test", "val")):
        if split not in plans:
            continue
        ids = [f"{split}-{i:05d}" for i in range(len(plans[split]))]
        tasks = [(sid, p, code) for sid, p in zip(ids, plans[split])]
        shard_plan += plan_shards(split, ids, tasks, per_shard=128)
    train_styles = sorted(fg["train"])
    info = {
        "name": "bandai-untrimmed", "layout": "ntu25", "fps": 30.0, "class_names": classes,
        "background_index": k, "labels": "frame",
        "preprocessing": {
            "bvh": "forward kinematics (skelzoo.io.read_bvh), metres, Y up",
            "layout": "ntu25; hand tips and thumbs copied from the hand (fill='neighbour')",
            "composition": "clips chained with heading/root alignment and a cross-fade of "
                           f"{cfg.blend} frames; blend frames with weight < 0.5 keep the previous label",
            "ntu_pre_normalisation": bool(normalise),
            "ntu_pre_normalisation_detail": "per composed sequence: centre joint 1 (spine mid) in every frame; "
                                            "rotate joint0->joint1 of frame 0 to +z, then joint8-joint4 to +x"
                                            if normalise else None,
        },
        "source": {"datasets": cache.index["source"]["datasets"], "license": LICENSE,
                   "train_styles": train_styles, "test_styles": sorted(test_styles),
                   "val_styles": list(val),
                   "ds1_background_contents": list(DS1_BACKGROUND_CONTENTS),
                   "ds1_test_styles": list(DS1_TEST_STYLES),
                   "ds1_used": bool(bg["train"] or bg["test"])},
        "seed": seed, "params": params,
    }
    ds = write_prepared(out, shard_plan, produce, info=info, progress=progress, overwrite=overwrite,
                        desc="compose")
    t_total = time.perf_counter() - t0
    summ = ds.summary()
    return {"name": "bandai-untrimmed", "out": str(out), "status": "written", "seed": seed,
            "splits": summ["splits"], "train_styles": train_styles, "test_styles": sorted(test_styles),
            "parsed_clips": len(clips),
            "seconds": {"parse": round(t_parse, 1), "total": round(t_total, 1)}}


def prepare_bandai_clips(data_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
                         datasets: Sequence[int] = (1, 2), normalise: bool = True,
                         cache_dir: str | os.PathLike | None = None, workers: int | None = None,
                         clips_per_group: int | None = None, progress: bool = True,
                         overwrite: bool = False, val_styles: Sequence[str] = ()) -> dict[str, Any]:
    """Every (trimmed) clip as its own sequence, for pretraining: splits ``train``/``test`` by style
    (:data:`TEST_STYLES` for dataset 2, :data:`DS1_TEST_STYLES` for dataset 1), NTU pre-normalised per
    clip. Frame labels = the clip's content class (``class_names``: dataset-2 contents, then the
    dataset-1 contents not among them; ``labels: "clip"``, no background). ``val_styles``: dataset-2
    training styles moved to a third split ``val`` (as for :func:`prepare_bandai_untrimmed`)."""
    from . import transforms as tf

    t0 = time.perf_counter()
    out = Path(out_dir)
    datasets = tuple(sorted(set(int(d) for d in datasets)))
    if not datasets or any(d not in (1, 2) for d in datasets):
        raise ValueError("datasets must be a non-empty subset of {1, 2}")
    params = {"datasets": list(datasets), "normalise": normalise, "clips_per_group": clips_per_group,
              "test_styles": list(TEST_STYLES), "ds1_test_styles": list(DS1_TEST_STYLES)}
    val = _check_val_styles(val_styles)
    if val:
        params["val_styles"] = list(val)
    done = _existing(out, "bandai-clips", params, None, overwrite)
    if done is not None:
        return {"name": "bandai-clips", "out": str(out), "status": "exists", "splits": _counts(done)}
    cache_path = _cache_location(out, cache_dir)
    cache, names = parse_bandai_clips(data_dir, cache_path, datasets=datasets, workers=workers,
                                      clips_per_group=clips_per_group, progress=progress, required=datasets)
    classes: list[str] = []
    for ds_ in sorted(names, reverse=True):  # dataset 2 first
        classes += [c for c in names[ds_]["contents"] if c not in classes]
    rows: dict[str, list] = {"train": [], "test": [], "val": []}
    for split_name in cache.splits:
        for i, cid in enumerate(cache.ids(split_name)):
            m = cache.meta(split_name, i)
            test = m["style"] in (TEST_STYLES if m["dataset"] == 2 else DS1_TEST_STYLES)
            held = m["dataset"] == 2 and m["style"] in val
            rows["test" if test else "val" if held else "train"].append((cid, split_name, i, m))

    def produce(shard: ShardPlan) -> list[SequenceRecord]:
        recs = []
        for cid, split_name, i, m in shard.task:
            d, _ = cache.get(split_name, i)
            if normalise:
                d = tf.ntu_pre_normalise(d)
            lab = np.full(len(d), classes.index(m["content"]), np.int64)
            recs.append(SequenceRecord(cid, d, lab, dict(m)))
        return recs

    plan: list[ShardPlan] = []
    for split in ("train", "test", "val"):
        if rows[split]:
            plan += plan_shards(split, [r[0] for r in rows[split]], rows[split], per_shard=512)
    info = {
        "name": "bandai-clips", "layout": "ntu25", "fps": 30.0, "class_names": classes, "background_index": None,
        "labels": "clip",
        "preprocessing": {"bvh": "forward kinematics (skelzoo.io.read_bvh), metres, Y up",
                          "layout": "ntu25; hand tips and thumbs copied from the hand (fill='neighbour')",
                          "ntu_pre_normalisation": bool(normalise)},
        "source": {"datasets": cache.index["source"]["datasets"], "license": LICENSE,
                   "test_styles": {"dataset-2": list(TEST_STYLES), "dataset-1": list(DS1_TEST_STYLES)},
                   "val_styles": {"dataset-2": list(val)}},
        "seed": None, "params": params,
    }
    ds = write_prepared(out, plan, produce, info=info, progress=progress, overwrite=overwrite, desc="clips")
    return {"name": "bandai-clips", "out": str(out), "status": "written",
            "splits": {s: {"sequences": ds.num_sequences(s), "frames": ds.num_frames(s)} for s in ds.splits},
            "seconds": {"total": round(time.perf_counter() - t0, 1)}}
