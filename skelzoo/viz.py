"""Pictures people would rather look at: timelines of segments (needs the ``viz`` extra, matplotlib)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .localization.segments import Segment

__all__ = ["plot_timeline"]


def _require_matplotlib():
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'skelzoo[viz]'") from e
    return plt


def plot_timeline(segments: Sequence[Segment], num_frames: int, fps: float, class_names: Sequence[str],
                  path: str | Path, *, ground_truth: Sequence[Segment] | None = None, title: str = "") -> Path:
    """Draw one row per class with predicted segments (shaded by score) and, if given, ground truth below.

    Args:
        segments: predicted segments (``start``/``end`` in frames).
        num_frames: length of the recording in frames (x axis spans ``num_frames / fps`` seconds).
        fps: frame rate.
        class_names: names of the ``K - 1`` foreground classes (rows).
        path: output image (PNG, SVG, PDF by extension).
        ground_truth: optional reference segments, drawn in a second band under each class row.
    """
    plt = _require_matplotlib()
    names = list(class_names)
    k = len(names)
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    height = 0.8 + 0.45 * k * (2 if ground_truth is not None else 1)
    fig, ax = plt.subplots(figsize=(11, height))
    duration = num_frames / fps
    row_h = 0.8 if ground_truth is None else 0.38
    for seg in segments:
        y = k - 1 - seg.label
        alpha = 0.35 + 0.65 * min(1.0, max(0.0, float(seg.score)))
        lane = y + (0.42 if ground_truth is not None else 0.1)
        ax.broken_barh([(seg.start / fps, (seg.end - seg.start) / fps)], (lane, row_h),
                       facecolors=cmap(seg.label % cmap.N), alpha=alpha, edgecolor="black", linewidth=0.5)
    if ground_truth is not None:
        for seg in ground_truth:
            y = k - 1 - seg.label
            ax.broken_barh([(seg.start / fps, (seg.end - seg.start) / fps)], (y + 0.02, row_h),
                           facecolors="none", edgecolor=cmap(seg.label % cmap.N), hatch="///", linewidth=1.0)
    ax.set_yticks([k - 1 - i + 0.5 for i in range(k)])
    ax.set_yticklabels(names)
    ax.set_ylim(0, k)
    ax.set_xlim(0, duration)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    gt_note = " / ground truth (hatched, lower band)" if ground_truth is not None else ""
    sub = "prediction (solid, shade = score)" + gt_note
    ax.set_title((title + "\n" if title else "") + sub, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
