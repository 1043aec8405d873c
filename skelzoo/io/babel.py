"""BABEL (v1.0) annotation files -> per-frame label arrays.

A BABEL file is a JSON dict ``{babel_sid: entry}``; an entry has ``dur`` (seconds), ``feat_p`` (AMASS
path), ``seq_ann`` and ``frame_ann`` (``frame_ann`` may be ``null``); the ``extra_*`` files have lists
``seq_anns`` / ``frame_anns`` (one per annotator; ``annotator=`` picks one). Segment times are seconds,
``act_cat`` is a list of categories (or ``null``), segments may overlap and are unsorted.

Per-frame labels (as the LINE localization scripts build them): ``T = int(fps * dur)``; frame ``n`` gets
the union of ``act_cat`` of the ``frame_ann`` segments with ``start_t <= n / fps < end_t``. When
``frame_ann`` is ``null`` the ``seq_ann`` labels cover every frame. Only categories of the requested
class subset count; see :func:`babel_frame_labels`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, read_text

__all__ = ["BabelSegment", "BabelAnnotation", "read_babel", "babel_frame_labels", "load_babel_categories"]

_MAX_DURATION = 24 * 3600.0
ClassSpec = Union[Mapping[str, int], Sequence[str]]


@dataclass(frozen=True)
class BabelSegment:
    """One labelled segment; ``start``/``end`` in seconds (``[0, dur]`` for sequence labels)."""

    start: float
    end: float
    categories: tuple[str, ...]
    raw_label: str = ""
    proc_label: str = ""


@dataclass(frozen=True)
class BabelAnnotation:
    """One BABEL sequence: duration, AMASS feature path, sequence and (optional) frame segments."""

    sid: str
    duration: float
    feat_p: str
    seq_segments: tuple[BabelSegment, ...]
    frame_segments: tuple[BabelSegment, ...] | None
    url: str = ""

    def num_frames(self, fps: float = 30.0) -> int:
        """``T = int(fps * dur)``."""
        return int(fps * self.duration)


def _num(value: Any, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise FormatError(f"{what} must be a finite number, got {value!r}"[:200], path=path)
    return float(value)


def _segments(ann: Any, where: str, path: Path, dur: float, timed: bool) -> tuple[BabelSegment, ...]:
    if not isinstance(ann, dict) or not isinstance(ann.get("labels"), list):
        raise FormatError(f"{where}: expected an object with a 'labels' list", path=path)
    out = []
    for i, lab in enumerate(ann["labels"]):
        if not isinstance(lab, dict):
            raise FormatError(f"{where} label {i}: expected an object", path=path)
        cats = lab.get("act_cat") or []
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise FormatError(f"{where} label {i}: act_cat must be a list of strings or null", path=path)
        if timed:
            start = _num(lab.get("start_t"), f"{where} label {i} start_t", path)
            end = _num(lab.get("end_t"), f"{where} label {i} end_t", path)
            if end < start:
                raise FormatError(f"{where} label {i}: end_t {end:g} is before start_t {start:g}", path=path)
        else:
            start, end = 0.0, dur
        out.append(BabelSegment(start, end, tuple(cats), str(lab.get("raw_label") or ""),
                                str(lab.get("proc_label") or "")))
    return tuple(out)


def _pick(entry: dict, single: str, plural: str, annotator: int) -> Any:
    if single in entry:
        return entry[single]
    anns = entry.get(plural)
    if isinstance(anns, list):
        return anns[annotator] if -len(anns) <= annotator < len(anns) else None
    return None


def read_babel(source: PathLike | Mapping[str, Any], *, annotator: int = 0) -> dict[str, BabelAnnotation]:
    """Parse a BABEL JSON file (or its already-loaded dict) into ``{sid: BabelAnnotation}``.

    Raises:
        FormatError: invalid JSON, missing ``dur``/annotations, non-numeric times, absurd durations.
    """
    if isinstance(source, Mapping):
        path, doc = Path("<dict>"), source
    else:
        path = Path(source)
        try:
            doc = json.loads(read_text(path))
        except json.JSONDecodeError as e:
            raise FormatError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
        except (ValueError, RecursionError) as e:
            raise FormatError(f"invalid JSON: {type(e).__name__}", path=path) from None
    if not isinstance(doc, Mapping) or not doc:
        raise FormatError("expected a non-empty JSON object {babel_sid: entry}", path=path)
    out = {}
    for sid, entry in doc.items():
        where = f"sid {sid}"
        if not isinstance(entry, dict):
            raise FormatError(f"{where}: entry must be an object", path=path)
        dur = _num(entry.get("dur"), f"{where} dur", path)
        if not 0 <= dur <= _MAX_DURATION:
            raise FormatError(f"{where}: duration {dur} s is implausible", path=path)
        seq = _pick(entry, "seq_ann", "seq_anns", annotator)
        frame = _pick(entry, "frame_ann", "frame_anns", annotator)
        if seq is None and frame is None:
            raise FormatError(f"{where}: neither seq_ann nor frame_ann", path=path)
        seq_segs = _segments(seq, f"{where} seq_ann", path, dur, timed=False) if seq is not None else ()
        frame_segs = _segments(frame, f"{where} frame_ann", path, dur, timed=True) if frame is not None else None
        out[str(sid)] = BabelAnnotation(str(sid), dur, str(entry.get("feat_p") or ""), seq_segs, frame_segs,
                                        str(entry.get("url") or ""))
    return out


def _class_map(classes: ClassSpec) -> dict[str, int]:
    if isinstance(classes, Mapping):
        return {str(k): int(v) for k, v in classes.items()}
    return {str(c): i for i, c in enumerate(classes)}


def babel_frame_labels(ann: BabelAnnotation, classes: ClassSpec, *, fps: float = 30.0,
                       background: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame labels of one sequence for a class subset.

    Args:
        ann: from :func:`read_babel`.
        classes: category name -> class index (e.g. ``{"walk": 0, "stand": 1, "turn": 2, "jump": 3}``),
            or a list of names (index = position). Other categories are ignored.
        fps: label frame rate (30 in LINE).
        background: label of frames with no category of the subset (``-1`` when ``None``).

    Returns:
        ``multi_hot`` bool ``(T, K)`` (``K`` = largest class index + 1; overlapping/multi-category
        segments set several columns) and ``labels`` int64 ``(T,)``: the smallest class index present
        in the frame, else ``background``.
    """
    cmap = _class_map(classes)
    k = max(cmap.values(), default=-1) + 1
    t = ann.num_frames(fps)
    segs = ann.frame_segments if ann.frame_segments is not None else ann.seq_segments
    multi = np.zeros((t, k), dtype=bool)
    if segs and t and k:
        # frame n is inside a segment when start <= n / fps < end: one slice per segment, O(T x K) memory
        times = np.arange(t) / fps
        for seg in segs:
            cols = [cmap[c] for c in seg.categories if c in cmap]
            if not cols:
                continue
            if ann.frame_segments is None:
                lo, hi = 0, t
            else:
                lo = int(np.searchsorted(times, seg.start, side="left"))
                hi = int(np.searchsorted(times, seg.end, side="left"))
            if hi > lo:
                multi[lo:hi, cols] = True
    labels = np.where(multi.any(axis=1), np.argmax(multi, axis=1) if k else 0,
                      -1 if background is None else background).astype(np.int64)
    return multi, labels


def load_babel_categories(path: PathLike, *, num_classes: int | None = None) -> dict[str, int]:
    """Read ``action_label_2_idx.json`` (category -> index); keep indices ``< num_classes`` (BABEL-60/120)."""
    path = Path(path)
    try:
        doc = json.loads(read_text(path))
    except (ValueError, RecursionError):
        raise FormatError("invalid JSON", path=path) from None
    if not isinstance(doc, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in doc.values()):
        raise FormatError("expected an object {category: index}", path=path)
    return {k: v for k, v in doc.items() if num_classes is None or v < num_classes}
