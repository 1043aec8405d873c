"""BVH motion capture files: hierarchy parser and vectorised forward kinematics.

The reader returns **world joint positions** of every joint and every end site (end sites are named
``"<parent>_End"``), in the file's depth-first order, scaled to metres, in the file's axes (Bandai and
CMU files are Y-up). ``M = 1``.

Rig layouts: when the joint names equal a known rig, ``layout`` is that rig's registered layout:

- ``bvh_bandai``: Bandai Namco Research Motion rig (22 joints + 5 end sites = 27), centimetres;
- ``bvh_cmu``: CMU mocap "MotionBuilder-friendly" (cgspeed) rig as in ``01_01.bvh`` (31 joints + 7 end
  sites = 38), CMU length unit (``1 unit = 1/0.45 inch``, the ``:units length 0.45`` of the ASF files).

Any other rig gets the unregistered layout name ``"bvh"`` with ``meta["joint_names"]``; its joints can
still be converted to ``ntu25`` when the names match one of the rigs' naming schemes (see
:mod:`skelzoo.io.layout_conversion`). ``meta`` also holds ``parents`` (``-1`` for the root), ``offsets`` ``(V, 3)``
(metres), ``channels`` (per joint), ``frame_time`` (header value), ``unit_scale``.

FK: for each joint, local translation = its per-frame position channels if it has any (missing axes from
OFFSET), else its OFFSET; local rotation = product of the elementary rotations in channel order
(``Zrotation Xrotation Yrotation`` -> ``Rz @ Rx @ Ry``, column vectors, degrees); global = parent global
x local.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import (
    PathLike,
    check_fps,
    check_output_size,
    make_sequence,
    parse_int,
    parse_rows,
    read_text,
    to_floats,
)
from skelzoo.io.sequence import SkeletonSequence
from skelzoo.layouts import BANDAI_JOINTS, BANDAI_PARENTS, CMU_JOINTS, CMU_PARENTS, get_layout

__all__ = ["read_bvh", "BANDAI_JOINTS", "CMU_JOINTS", "CMU_SCALE", "BANDAI_SCALE"]

log = logging.getLogger(__name__)

BANDAI_SCALE = 0.01
CMU_SCALE = 0.0254 / 0.45
_MAX_JOINTS = 4096
_CHANNELS = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")


_KNOWN_RIGS = {"bvh_bandai": (BANDAI_PARENTS, BANDAI_SCALE), "bvh_cmu": (CMU_PARENTS, CMU_SCALE)}


class _Joint:
    __slots__ = ("name", "parent", "offset", "channels", "line")

    def __init__(self, name: str, parent: int, line: int) -> None:
        self.name, self.parent, self.line = name, parent, line
        self.offset = np.zeros(3)
        self.channels: list[str] = []


def _parse_hierarchy(lines: list[str], path: Path) -> tuple[list[_Joint], int]:
    """Parse up to ``MOTION``; returns the joints (end sites included) and the index of the MOTION line."""
    motion_line = next((i for i, s in enumerate(lines) if s.strip().upper().startswith("MOTION")), None)
    if motion_line is None:
        raise FormatError("no MOTION section", path=path, line=len(lines))
    # tokenise the hierarchy only (lines 1..motion_line), never the motion data
    toks = [(t, i + 1) for i, s in enumerate(lines[:motion_line]) for t in s.split()]
    if not toks or toks[0][0].upper() != "HIERARCHY":
        raise FormatError("file must start with HIERARCHY", path=path, line=toks[0][1] if toks else 1)
    joints: list[_Joint] = []
    stack: list[int] = []
    k, n = 1, len(toks)

    def need(count: int, what: str) -> list[tuple[str, int]]:
        if k + count > n:
            raise FormatError(f"hierarchy ends early: expected {what}", path=path, line=toks[-1][1])
        return toks[k:k + count]

    pending: _Joint | None = None  # declared, waiting for '{'
    while k < n:
        tok, ln = toks[k]
        word = tok.upper()
        if word in ("ROOT", "JOINT"):
            if (word == "ROOT") != (not stack) or pending is not None:
                raise FormatError(f"unexpected {tok}", path=path, line=ln)
            (name, _), = need(2, "a joint name")[1:]
            pending = _Joint(name, stack[-1] if stack else -1, ln)
            k += 2
        elif word == "END":
            (site, _), = need(2, "'End Site'")[1:]
            if site.upper() != "SITE" or not stack or pending is not None:
                raise FormatError("malformed 'End Site'", path=path, line=ln)
            pending = _Joint(joints[stack[-1]].name + "_End", stack[-1], ln)
            pending.channels = ["END"]
            k += 2
        elif tok == "{":
            if pending is None:
                raise FormatError("'{' without a joint", path=path, line=ln)
            joints.append(pending)
            stack.append(len(joints) - 1)
            pending = None
            if len(joints) > _MAX_JOINTS:
                raise FormatError(f"more than {_MAX_JOINTS} joints", path=path, line=ln)
            k += 1
        elif tok == "}":
            if not stack or pending is not None:
                raise FormatError("unbalanced '}'", path=path, line=ln)
            stack.pop()
            k += 1
        elif word == "OFFSET":
            if not stack:
                raise FormatError("OFFSET outside a joint", path=path, line=ln)
            vals = need(4, "3 OFFSET values")[1:]
            joints[stack[-1]].offset = to_floats([t for t, _ in vals], path=path, line=ln, what="OFFSET")
            k += 4
        elif word == "CHANNELS":
            if not stack or joints[stack[-1]].channels:
                raise FormatError("misplaced CHANNELS", path=path, line=ln)
            (cnt, _), = need(2, "a channel count")[1:]
            nc = parse_int(cnt, path=path, line=ln, what="channel count", hi=6)
            names = [t for t, _ in need(2 + nc, f"{nc} channel names")[2:]]
            for c in names:
                if c not in _CHANNELS:
                    raise FormatError(f"unknown channel {c!r}", path=path, line=ln)
            if len(set(names)) != nc:
                raise FormatError("repeated channel", path=path, line=ln)
            joints[stack[-1]].channels = names
            k += 2 + nc
        else:
            raise FormatError(f"unexpected token {tok[:40]!r} in HIERARCHY", path=path, line=ln)
    if stack or pending is not None or not joints:
        raise FormatError("hierarchy is incomplete (unbalanced braces or no joints)", path=path, line=motion_line)
    return joints, motion_line


def _axis_rot(axis: str, deg: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` rotation about one axis by ``deg`` degrees."""
    r = np.radians(deg)
    c, s = np.cos(r), np.sin(r)
    one, zero = np.ones_like(r), np.zeros_like(r)
    rows = {
        "X": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "Y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "Z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _forward_kinematics(joints: list[_Joint], motion: np.ndarray) -> np.ndarray:
    """World positions ``(T, J, 3)`` of every joint from channel values ``(T, total_channels)``."""
    t = motion.shape[0]
    pos = np.zeros((t, len(joints), 3))
    # global rotations; a joint without rotation channels shares its parent's array (no copy), so
    # channel-less joints cost only their positions
    rot: list[np.ndarray] = []
    col = 0
    for j, jt in enumerate(joints):
        trans = np.broadcast_to(jt.offset, (t, 3)).copy()
        local = None
        if jt.channels != ["END"]:
            for ch in jt.channels:
                vals = motion[:, col]
                col += 1
                if ch.endswith("position"):
                    trans[:, "XYZ".index(ch[0])] = vals
                else:
                    r = _axis_rot(ch[0], vals)
                    local = r if local is None else local @ r
        if jt.parent < 0:
            pos[:, j] = trans
            rot.append(local if local is not None else np.broadcast_to(np.eye(3), (t, 3, 3)))
        else:
            prot = rot[jt.parent]
            pos[:, j] = pos[:, jt.parent] + np.einsum("tij,tj->ti", prot, trans)
            rot.append(prot if local is None else prot @ local)
    return pos


def _guess_scale(height: float) -> float:
    """Unit scale to metres giving a body extent closest to 1.7 m (m, cm, mm, inch, CMU unit)."""
    if not np.isfinite(height) or height <= 0:
        return 1.0
    cands = np.array([1.0, 0.01, 0.001, 0.0254, CMU_SCALE])
    return float(cands[np.argmin(np.abs(np.log(height * cands / 1.7)))])


def read_bvh(path: PathLike, *, scale: float | None = None, fps: float | None = None) -> SkeletonSequence:
    """Read a BVH file and run forward kinematics: ``(T, 1, V, 3)`` joint + end-site positions in metres.

    Args:
        path: the ``.bvh`` file.
        scale: metres per file unit; ``None`` = the known rig's unit (Bandai cm, CMU unit) or, for other
            rigs, a guess from the first frame's extent (m, cm, mm, inch or CMU unit; logged).
        fps: frame rate override (CMU files often state 120 fps for 60 fps captures); default
            ``1 / Frame Time`` (snapped to an integer when within 0.1 %).

    Raises:
        FormatError: malformed hierarchy, bad frame header, truncated or wrong-width motion lines.
    """
    path = Path(path)
    lines = read_text(path).splitlines()
    joints, mline = _parse_hierarchy(lines, path)
    ncols = sum(len(j.channels) for j in joints if j.channels != ["END"])
    if ncols == 0:
        raise FormatError("no channels in the hierarchy", path=path, line=mline + 1)
    rest = [(i, s) for i, s in enumerate(lines[mline + 1:], start=mline + 1) if s.strip()]
    if len(rest) < 2:
        raise FormatError("MOTION needs 'Frames:' and 'Frame Time:' lines", path=path, line=len(lines))
    (i_f, s_f), (i_t, s_t) = rest[0], rest[1]
    if not s_f.strip().lower().startswith("frames:"):
        raise FormatError("expected 'Frames: <n>'", path=path, line=i_f + 1)
    nfr = parse_int(s_f.split(":", 1)[1].strip(), path=path, line=i_f + 1, what="frame count")
    if not s_t.strip().lower().startswith("frame time:"):
        raise FormatError("expected 'Frame Time: <seconds>'", path=path, line=i_t + 1)
    dt = float(to_floats([s_t.split(":", 1)[1].strip()], path=path, line=i_t + 1, what="frame time")[0])
    if dt <= 0:
        raise FormatError("frame time must be positive", path=path, line=i_t + 1)
    if fps is None:
        check_fps(1.0 / dt if dt > 1e-12 else float("inf"), path=path, line=i_t + 1,
                  what=f"the frame rate of 'Frame Time: {dt:g}'")
    else:
        fps = check_fps(fps, path=path, what="fps")
    frames = rest[2:]
    if len(frames) < nfr:
        raise FormatError(f"file has {len(frames)} frame lines but 'Frames: {nfr}' (truncated?)",
                          path=path, line=len(lines))
    if len(frames) > nfr:
        log.warning("%s: %d frame lines after the %d announced ones ignored", path, len(frames) - nfr, nfr)
        frames = frames[:nfr]
    # FK keeps (T, J, 3) float64 positions and per rotated joint (T, 3, 3): bounded against the file size
    n_rot = sum(1 for j in joints if any(c.endswith("rotation") for c in j.channels))
    check_output_size(nfr * (len(joints) * 3 * (8 + 4) + n_rot * 9 * 8), path=path,
                      what=f"{nfr} frames x {len(joints)} joints")
    motion = parse_rows([s for _, s in frames], ncols, path=path,
                        first_line=np.array([i + 1 for i, _ in frames], dtype=np.int64), what="channel values")
    pos = _forward_kinematics(joints, motion)
    names = tuple(j.name for j in joints)
    parents = [j.parent for j in joints]
    layout = "bvh"
    for rig, (rig_parents, _) in _KNOWN_RIGS.items():
        if names == get_layout(rig).joints and tuple(parents) == rig_parents:
            layout = rig
    if scale is None:
        if layout in _KNOWN_RIGS:
            scale = _KNOWN_RIGS[layout][1]
        else:
            extent = float(np.ptp(pos[0], axis=0).max()) if nfr else 0.0
            scale = _guess_scale(extent)
            log.info("%s: unknown rig, guessed unit scale %g m per unit", path, scale)
    if fps is None:
        fps = 1.0 / dt
        if abs(fps - round(fps)) < 1e-3 * fps:
            fps = float(round(fps))
    pos *= scale
    data = pos.astype(np.float32)[:, None]
    del pos
    if not np.isfinite(data).all():
        raise FormatError("forward kinematics produced non-finite positions (values too large)", path=path)
    meta = {
        "source": str(path), "format": "bvh", "joint_names": list(names), "parents": parents,
        "offsets": np.stack([j.offset for j in joints]) * scale,
        "channels": [[] if j.channels == ["END"] else list(j.channels) for j in joints],
        "frame_time": dt, "unit_scale": float(scale),
    }
    return make_sequence(path, data, layout, fps, meta)
