"""Scored action segments: the common output type of every skelzoo decoder.

Frame conventions (used everywhere in :mod:`skelzoo.localization` and :mod:`skelzoo.evaluation`):

- frame indices are 0-based;
- ``start`` is the first frame of the segment (inclusive), ``end`` is one past its last frame (exclusive),
  so a segment covers ``end - start`` frames;
- ``start_s = start / fps`` and ``end_s = end / fps`` are the same boundaries in seconds.

The official SnipCLR / LINE code stores a proposal as ``[video, start, end + 1, score]`` (one past the
exclusive end); skelzoo never stores that quirk in a :class:`Segment`, the ``"line"`` evaluation protocol
re-applies it when computing IoU.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["Segment", "make_segment", "segments_from_arrays", "segments_to_arrays", "segments_from_frame_labels"]


@dataclass(frozen=True)
class Segment:
    """One scored action segment of one sequence.

    Attributes:
        label: class index (never the background index in decoder outputs).
        name: class name (``str(label)`` when no class names were given).
        start: first frame, inclusive.
        end: one past the last frame, exclusive (``end > start``).
        score: confidence; higher is more confident (ranking key of segment mAP).
        start_s: ``start / fps`` in seconds.
        end_s: ``end / fps`` in seconds.
    """

    label: int
    name: str
    start: int
    end: int
    score: float
    start_s: float
    end_s: float

    @property
    def num_frames(self) -> int:
        """Number of frames covered, ``end - start``."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with every field (plain Python ints / floats)."""
        return {
            "label": int(self.label),
            "name": str(self.name),
            "start": int(self.start),
            "end": int(self.end),
            "score": float(self.score),
            "start_s": float(self.start_s),
            "end_s": float(self.end_s),
        }


def _class_name(label: int, class_names: Sequence[str] | None) -> str:
    if class_names is None:
        return str(label)
    if not 0 <= label < len(class_names):
        raise ValueError(f"label {label} has no entry in class_names (length {len(class_names)})")
    return str(class_names[label])


def make_segment(
    label: int,
    start: int,
    end: int,
    score: float,
    *,
    fps: float = 30.0,
    class_names: Sequence[str] | None = None,
) -> Segment:
    """Build a :class:`Segment` from frame boundaries; seconds are ``frame / fps``.

    Args:
        label: class index.
        start: first frame (inclusive).
        end: one past the last frame (exclusive), ``end > start``.
        score: confidence.
        fps: frames per second (> 0).
        class_names: optional names indexed by class; default name is ``str(label)``.

    Raises:
        ValueError: on ``fps <= 0``, ``end <= start``, ``start < 0`` or a label without a name.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    start, end, label = int(start), int(end), int(label)
    if start < 0 or end <= start:
        raise ValueError(f"invalid segment frames [{start}, {end}): need 0 <= start < end")
    return Segment(
        label=label,
        name=_class_name(label, class_names),
        start=start,
        end=end,
        score=float(score),
        start_s=start / fps,
        end_s=end / fps,
    )


def segments_from_arrays(
    labels: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    scores: np.ndarray,
    *,
    fps: float = 30.0,
    class_names: Sequence[str] | None = None,
) -> list[Segment]:
    """Turn parallel arrays (each shape ``(S,)``) into a list of :class:`Segment`, in the given order."""
    labels, starts, ends, scores = (np.asarray(a).reshape(-1) for a in (labels, starts, ends, scores))
    if not len(labels) == len(starts) == len(ends) == len(scores):
        raise ValueError("labels, starts, ends and scores must have the same length")
    return [
        make_segment(int(c), int(s), int(e), float(p), fps=fps, class_names=class_names)
        for c, s, e, p in zip(labels.tolist(), starts.tolist(), ends.tolist(), scores.tolist())
    ]


def segments_to_arrays(segments: Sequence[Segment]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`segments_from_arrays`: ``(labels, starts, ends, scores)``, each shape ``(S,)``."""
    labels = np.fromiter((s.label for s in segments), dtype=np.int64, count=len(segments))
    starts = np.fromiter((s.start for s in segments), dtype=np.int64, count=len(segments))
    ends = np.fromiter((s.end for s in segments), dtype=np.int64, count=len(segments))
    scores = np.fromiter((s.score for s in segments), dtype=np.float64, count=len(segments))
    return labels, starts, ends, scores


def segments_from_frame_labels(labels: Sequence[str], class_names: Sequence[str], fps: float) -> list[Segment]:
    """Per-frame action names (e.g. a ground truth, one name per frame) -> one :class:`Segment` (score 1) per run
    of a name in ``class_names``; other names (idle, unknown actions) count as background."""
    lookup = {n: i for i, n in enumerate(class_names)}
    idx = np.array([lookup.get(a, -1) for a in labels], dtype=np.int64)
    if idx.size == 0:
        return []
    change = np.flatnonzero(np.diff(idx)) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(idx)]
    keep = idx[starts] >= 0
    return segments_from_arrays(idx[starts][keep], starts[keep], ends[keep], np.ones(int(keep.sum())), fps=fps,
                                class_names=list(class_names))
