"""Small synthetic skeleton files for the io tests (built in tmp dirs; no real data)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from skelzoo.io.sequence import SkeletonSequence


def random_ntu(t: int = 6, m: int = 2, seed: int = 0) -> SkeletonSequence:
    """A ``ntu25`` sequence with all per-joint NTU extras filled in."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(t, m, 25, 3)).astype(np.float32)
    meta = {
        "depth_xy": rng.uniform(0, 500, (t, m, 25, 2)).astype(np.float32),
        "color_xy": rng.uniform(0, 1900, (t, m, 25, 2)).astype(np.float32),
        "orientation": rng.normal(size=(t, m, 25, 4)).astype(np.float32),
        "tracking_state": rng.integers(0, 3, (t, m, 25)).astype(np.int8),
        "body_info": np.concatenate([rng.integers(0, 3, (t, m, 6)), rng.normal(size=(t, m, 2)),
                                     np.full((t, m, 1), 2)], -1).astype(np.float32),
        "body_ids": [72057594037944734 + k for k in range(m)],
    }
    return SkeletonSequence(data, "ntu25", 30.0, meta)


def bvh_text(frames: list[list[float]], *, frame_time: float = 1 / 30) -> str:
    """A 3-joint BVH: root (6 ch, ZXY), ``Mid`` (Yrot Xrot Zrot), ``Tip`` with position channels, end site."""
    head = """HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Mid
  {
    OFFSET 0 10 0
    CHANNELS 3 Yrotation Xrotation Zrotation
    JOINT Tip
    {
      OFFSET 0 5 0
      CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation
      End Site
      {
        OFFSET 0 0 2
      }
    }
  }
}
MOTION
"""
    body = "\n".join(" ".join(f"{v:g}" for v in row) for row in frames)
    return head + f"Frames: {len(frames)}\nFrame Time: {frame_time:.7f}\n" + body + "\n"


def write_bvh(path: Path, frames: list[list[float]], **kw: float) -> Path:
    path.write_text(bvh_text(frames, **kw))
    return path


def kinect_csv_text(t: int = 5, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    lines = []
    for f in range(t):
        vals = []
        for _ in range(25):
            vals += [f"{x:.6f}" for x in rng.normal(size=3)] + [str(int(rng.integers(0, 3)))]
        lines.append(f"{1000000 + 333333 * f}," + ",".join(vals) + ",")
    return "\n".join(lines) + "\n"


def pkummd_text(t: int = 5, second: bool = True, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(t, 150))
    if not second:
        rows[:, 75:] = 0
    return "\n".join(" ".join(f"{x:.6f}" for x in r) for r in rows) + "\n"


BABEL_DOC = {
    "1": {"babel_sid": 1, "dur": 2.0, "feat_p": "X/1_poses.npz", "url": "",
          "seq_ann": {"labels": [{"act_cat": ["walk"], "raw_label": "walk", "proc_label": "walk", "seg_id": "a"}]},
          "frame_ann": {"labels": [
              {"act_cat": ["walk", "turn"], "start_t": 0.5, "end_t": 1.5, "raw_label": "", "proc_label": ""},
              {"act_cat": ["stand"], "start_t": 0, "end_t": 1.0},
              {"act_cat": None, "start_t": 1.5, "end_t": 2.0},
          ]}},
    "2": {"babel_sid": 2, "dur": 1.0, "feat_p": "X/2_poses.npz",
          "seq_ann": {"labels": [{"act_cat": ["jump", "stand"]}]}, "frame_ann": None},
}
