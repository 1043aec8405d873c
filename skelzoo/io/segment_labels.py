"""Action label files of one's own recordings: one segment per line, validated line by line.

Format (text; ``#`` starts a comment; blank lines ignored)::

    walk        12   240        # class, first frame, last frame (the recording's own frame ids, inclusive)
    wave-hand:  300  410        # "class:" (UTKinect-Action3D style) and commas work too
    sit-down    14.2s 17.9s     # or seconds from the start of the recording (an "s" suffix on both)

A line with a single word starts the block of another recording (``s01_e01`` in UTKinect-Action3D's
``actionLabel.txt``): :func:`read_label_blocks` returns every block, :func:`read_segment_labels` a file of one
recording. Every problem is a :class:`~skelzoo.errors.FormatError` naming the file and line, never a silent
fix: a non-numeric or ``NaN`` value, an end before its start, a segment overlapping another one (a typo such as
``push: 2556 3622`` for ``3556`` usually shows up this way), a frame outside the recording
(:func:`check_against_recording`), an unknown class.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, read_text

__all__ = ["LabelSegment", "read_segment_labels", "read_label_blocks", "check_segments", "check_against_recording",
           "segments_to_frame_labels"]

_SPLIT = re.compile(r"[\s,:;]+")


@dataclass(frozen=True)
class LabelSegment:
    """One labelled action: ``start`` / ``end`` in frame ids (inclusive end) or seconds (``unit``)."""

    name: str
    start: float
    end: float
    unit: str  # "frames" or "seconds"
    line: int


def _value(tok: str, path: Path, line: int, what: str) -> tuple[float, str]:
    unit = "frames"
    t = tok
    if t.lower().endswith("s"):
        t, unit = t[:-1], "seconds"
    try:
        v = float(t)
    except ValueError:
        raise FormatError(f"{what}: {tok!r} is not a number", path=path, line=line) from None
    if not math.isfinite(v):
        raise FormatError(f"{what} is {tok} (not a frame or time); fix or remove the segment", path=path, line=line)
    if unit == "frames" and v != int(v):
        raise FormatError(f"{what} {tok} is not a whole frame id (write seconds as {tok}s)", path=path, line=line)
    return v, unit


def read_label_blocks(path: PathLike, *, classes: Sequence[str] | None = None) -> dict[str, list[LabelSegment]]:
    """Every block of a label file (``""``: segments before any block name), each checked by
    :func:`check_segments` (and class names against ``classes`` when given)."""
    path = Path(path)
    blocks: dict[str, list[LabelSegment]] = {}
    current = ""
    for i, raw in enumerate(read_text(path).splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        toks = [t for t in _SPLIT.split(text) if t]
        if len(toks) == 1:
            current = toks[0]
            if current in blocks:
                raise FormatError(f"recording {current!r} is listed twice", path=path, line=i)
            blocks[current] = []
            continue
        if len(toks) != 3:
            raise FormatError(f"expected 'class start end', found {len(toks)} fields: {text[:60]!r}", path=path,
                              line=i)
        name = toks[0]
        start, u1 = _value(toks[1], path, i, "start")
        end, u2 = _value(toks[2], path, i, "end")
        if u1 != u2:
            raise FormatError("start and end must both be frame ids or both seconds (an 's' suffix on both)",
                              path=path, line=i)
        if classes is not None and name not in classes:
            close = difflib.get_close_matches(name, list(classes), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(classes)}"
            raise FormatError(f"unknown class {name!r}{hint}", path=path, line=i)
        blocks.setdefault(current, []).append(LabelSegment(name, start, end, u1, i))
    for segs in blocks.values():
        check_segments(segs, path=path)
    return blocks


def read_segment_labels(path: PathLike, *, classes: Sequence[str] | None = None) -> list[LabelSegment]:
    """The segments of a label file of one recording (no block names), checked (:func:`check_segments`)."""
    blocks = read_label_blocks(path, classes=classes)
    named = [k for k in blocks if k]
    if named:
        raise FormatError(f"holds the labels of several recordings ({', '.join(named[:3])} ...); "
                          f"use read_label_blocks", path=path)
    return blocks.get("", [])


def check_segments(segments: Sequence[LabelSegment], *, path: PathLike) -> None:
    """Raise :class:`FormatError` (file and line) for an end before its start or overlapping segments."""
    for s in segments:
        if s.end < s.start or (s.unit == "seconds" and s.end == s.start):
            raise FormatError(f"end {s.end:g} is before start {s.start:g} ({s.name})", path=path, line=s.line)
    units = {s.unit for s in segments}
    if len(units) > 1:
        first = next(s for s in segments if s.unit != segments[0].unit)
        raise FormatError("mixes frame ids and seconds in one recording", path=path, line=first.line)
    order = sorted(segments, key=lambda s: (s.start, s.end))
    for a, b in zip(order, order[1:]):
        overlap = b.start <= a.end if a.unit == "frames" else b.start < a.end
        if overlap:
            raise FormatError(f"{b.name} {b.start:g}-{b.end:g} overlaps {a.name} {a.start:g}-{a.end:g} of line "
                              f"{a.line} (a typo in a frame number?)", path=path, line=b.line)


def check_against_recording(segments: Sequence[LabelSegment], *, path: PathLike, frame_ids: np.ndarray | None = None,
                            num_frames: int | None = None, duration: float | None = None) -> None:
    """Raise :class:`FormatError` (file and line) for a segment outside the recording: frame ids outside
    ``frame_ids[0] .. frame_ids[-1]`` (or ``0 .. num_frames - 1``), times outside ``0 .. duration``."""
    for s in segments:
        if s.unit == "frames":
            lo, hi = ((int(frame_ids[0]), int(frame_ids[-1])) if frame_ids is not None and len(frame_ids)
                      else (0, (num_frames or 0) - 1))
            if s.start < lo or s.end > hi:
                raise FormatError(f"{s.name} {s.start:g}-{s.end:g} is outside the recording's frames {lo}-{hi}",
                                  path=path, line=s.line)
        elif duration is not None and (s.start < 0 or s.end > duration + 1e-6):
            raise FormatError(f"{s.name} {s.start:g}s-{s.end:g}s is outside the recording (0-{duration:.3f} s)",
                              path=path, line=s.line)


def segments_to_frame_labels(segments: Sequence[LabelSegment], classes: Sequence[str], *, num_frames: int,
                             frame_ids: np.ndarray | None = None, times: np.ndarray | None = None,
                             fps: float = 30.0) -> np.ndarray:
    """Per-frame class indices ``(num_frames,)`` of a recording (``len(classes)`` = background): a frame is in a
    segment when its id (``frame_ids``, default ``0..T-1``) is in ``[start, end]``, or its time (``times``,
    default ``frame / fps``) in ``[start, end)`` for segments in seconds. Segments never overlap
    (:func:`check_segments`), so no label is overwritten."""
    ids = np.arange(num_frames) if frame_ids is None else np.asarray(frame_ids)
    t = np.arange(num_frames) / fps if times is None else np.asarray(times, dtype=np.float64)
    out = np.full(num_frames, len(classes), np.int64)
    index = {c: i for i, c in enumerate(classes)}
    for s in segments:
        sel = (ids >= s.start) & (ids <= s.end) if s.unit == "frames" else (t >= s.start) & (t < s.end)
        out[sel] = index[s.name]
    return out
