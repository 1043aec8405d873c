"""NTU RGB+D ``.skeleton`` text files (reader and writer).

Every value of the file is kept: joint ``x y z`` (metres, Kinect camera space) form ``data``; the other
nine values per joint and the body lines go to ``meta`` arrays (``T`` frames, ``M`` kept bodies,
``V = 25``):

- ``meta["depth_xy"]``, ``meta["color_xy"]``: float32 ``(T, M, V, 2)`` pixel positions;
- ``meta["orientation"]``: float32 ``(T, M, V, 4)`` quaternions ``(w, x, y, z)``;
- ``meta["tracking_state"]``: int8 ``(T, M, V)`` (0 not tracked, 1 inferred, 2 tracked); the sequence
  ``confidence`` is ``tracking_state / 2``;
- ``meta["body_info"]``: float32 ``(T, M, 9)``: clippedEdges, handLeftConfidence, handLeftState,
  handRightConfidence, handRightState, isRestricted, leanX, leanY, trackingState;
- ``meta["body_ids"]``: list of the ``M`` kept 64-bit body ids (``None`` for an empty padding slot);
- ``meta["bodies_per_frame"]``: int ``(T,)`` number of bodies the file lists per frame (0, 1, 2, more);
- ``meta["all_body_ids"]``, ``meta["body_energy"]``: every distinct body id and its energy.

**Body selection** (``select="energy"``, default): bodies are tracked by ``bodyID``. The energy of a body
is ``std(x) + std(y) + std(z)`` over all its non-empty frames and joints (the 2s-AGCN ``ntu_gendata``
"energy" criterion: noise bodies and static objects move little). The ``max_bodies`` bodies of highest
energy are kept, person 0 = highest energy; a frame where a kept body is absent holds zeros.
``select="order"`` instead puts the m-th listed body of each frame into slot m (the ST-GCN reader).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, check_output_size, make_sequence, parse_int, parse_rows, read_text
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_ntu_skeleton", "write_ntu_skeleton"]

log = logging.getLogger(__name__)

NUM_JOINTS = 25
_MAX_BODIES_PER_FRAME = 64
_DEFAULT_ID = 72057594037927936  # 2**56, the range real Kinect body ids live in


def _parse_structure(lines: list[str], path: Path) -> tuple[int, list[int], list[tuple[int, int, int]]]:
    """Walk the frame/body structure. Returns (frames, bodies per frame, [(frame, body_line, joints_line)])."""
    n = len(lines)
    head = lines[0].split()
    if len(head) != 1:
        raise FormatError(f"first line must hold the frame count, found {len(head)} fields", path=path, line=1)
    frames = parse_int(head[0], path=path, line=1, what="frame count")
    # each frame needs at least one line: a header claiming more frames than lines is truncated/absurd
    bodies_per_frame: list[int] = []
    bodies: list[tuple[int, int, int]] = []
    i = 1
    for f in range(frames):
        if i >= n:
            raise FormatError(f"file ends after {f} of {frames} frames (truncated?)", path=path, line=n)
        tok = lines[i].split()
        if len(tok) != 1:
            raise FormatError(f"frame {f}: expected the body count, found {len(tok)} fields", path=path, line=i + 1)
        nb = parse_int(tok[0], path=path, line=i + 1, what=f"frame {f} body count", hi=_MAX_BODIES_PER_FRAME)
        bodies_per_frame.append(nb)
        i += 1
        for b in range(nb):
            if i + 1 >= n:
                raise FormatError(f"frame {f}: file ends inside body {b} (truncated?)", path=path, line=n)
            body_line = i
            tok = lines[i + 1].split()
            if len(tok) != 1:
                raise FormatError(f"frame {f} body {b}: expected the joint count", path=path, line=i + 2)
            nj = parse_int(tok[0], path=path, line=i + 2, what="joint count")
            if nj != NUM_JOINTS:
                raise FormatError(f"frame {f} body {b}: {nj} joints, expected {NUM_JOINTS}", path=path, line=i + 2)
            if i + 2 + nj > n:
                raise FormatError(f"frame {f} body {b}: file ends inside the joint lines (truncated?)",
                                  path=path, line=n)
            bodies.append((f, body_line, i + 2))
            i += 2 + nj
    extra = [k for k in range(i, n) if lines[k].strip()]
    if extra:
        raise FormatError(f"unexpected content after the last of {frames} frames", path=path, line=extra[0] + 1)
    return frames, bodies_per_frame, bodies


def _energy(xyz: np.ndarray) -> float:
    """``std(x) + std(y) + std(z)`` over the non-empty frames of one body ``(n, V, 3)``."""
    keep = np.abs(xyz).sum(axis=(1, 2)) != 0
    if not keep.any():
        return 0.0
    return float(xyz[keep].reshape(-1, 3).std(axis=0).sum())


def read_ntu_skeleton(path: PathLike, *, max_bodies: int | None = 2,
                      select: Literal["energy", "order"] = "energy") -> SkeletonSequence:
    """Read an NTU RGB+D ``.skeleton`` file into a ``ntu25`` sequence ``(T, M, 25, 3)`` at 30 fps.

    Args:
        path: the file.
        max_bodies: persons kept (``M``; zero-padded when fewer bodies exist). ``None`` keeps every
            distinct body (``M`` = number of distinct body ids, at least 1).
        select: ``"energy"`` (bodies by id, highest energy first) or ``"order"`` (slot = listing order).

    Raises:
        FormatError: truncated file, wrong counts, non-numeric or non-finite values, trailing content.
    """
    path = Path(path)
    text = read_text(path)
    lines = text.splitlines()
    frames, per_frame, bodies = _parse_structure(lines, path)
    nb = len(bodies)
    if nb:
        body_ln = np.array([b[1] for b in bodies], dtype=np.int64)
        joint_ln = (np.array([b[2] for b in bodies], dtype=np.int64)[:, None] + np.arange(NUM_JOINTS)).ravel()
        info_tok = [lines[k].split() for k in body_ln]
        bad = [k for k, tok in zip(body_ln, info_tok) if len(tok) != 10]
        if bad:
            raise FormatError(f"body line must hold 10 values, found {len(lines[bad[0]].split())}",
                              path=path, line=int(bad[0]) + 1)
        ids = [parse_int(tok[0], path=path, line=int(k) + 1, what="bodyID", hi=2**64 - 1)
               for tok, k in zip(info_tok, body_ln)]
        info = parse_rows([" ".join(tok[1:]) for tok in info_tok], 9, path=path, first_line=body_ln + 1,
                          what="body values")
        joints = parse_rows([lines[k] for k in joint_ln], 12, path=path, first_line=joint_ln + 1,
                            what="joint values").reshape(nb, NUM_JOINTS, 12)
        bad_state = ~np.isin(joints[..., 11], (0.0, 1.0, 2.0))
        if bad_state.any():
            b, j = (int(x[0]) for x in np.nonzero(bad_state))
            raise FormatError(f"joint tracking state must be 0, 1 or 2, found {joints[b, j, 11]:g}",
                              path=path, line=int(joint_ln[b * NUM_JOINTS + j]) + 1)
    else:
        ids, info, joints = [], np.zeros((0, 9)), np.zeros((0, NUM_JOINTS, 12))
    frame_of = np.array([b[0] for b in bodies], dtype=np.int64)
    rank = np.zeros(nb, dtype=np.int64)  # position of each body within its frame
    if nb:
        starts = np.concatenate([[0], np.cumsum(per_frame)[:-1]])
        rank = np.arange(nb) - np.repeat(starts, per_frame)

    distinct = list(dict.fromkeys(ids))
    id_arr = np.array(ids, dtype=np.uint64) if nb else np.zeros(0, dtype=np.uint64)
    energy = [_energy(joints[id_arr == np.uint64(u), :, :3]) for u in distinct]
    if select == "energy":
        order = sorted(range(len(distinct)), key=lambda k: -energy[k])  # stable: ties keep first appearance
        kept = [distinct[k] for k in order]
        if max_bodies is not None:
            kept = kept[:max_bodies]
        m = max(1, len(kept)) if max_bodies is None else max_bodies
        slot_of_id = {u: s for s, u in enumerate(kept)}
        slot = np.array([slot_of_id.get(u, -1) for u in ids], dtype=np.int64)
        body_ids: list[int | None] = list(kept) + [None] * (m - len(kept))
    elif select == "order":
        m = max(1, max(per_frame, default=0)) if max_bodies is None else max_bodies
        slot = np.where(rank < m, rank, -1)
        body_ids = [ids[int(np.flatnonzero(slot == s)[0])] if (slot == s).any() else None for s in range(m)]
    else:
        raise ValueError(f"select must be 'energy' or 'order', got {select!r}")
    dup = np.zeros(nb, dtype=bool)
    if nb:
        key = frame_of * (m + 1) + slot
        _, first = np.unique(key, return_index=True)
        dup[:] = True
        dup[first] = False
        if (dup & (slot >= 0)).any():
            log.warning("%s: a body id occurs twice in one frame; keeping the first", path)
    use = (slot >= 0) & ~dup
    # the result (xyz, pixel positions, orientations, states, confidences) is ~2 x (T, M, 25, 12) float32
    check_output_size(2.0 * frames * m * NUM_JOINTS * 12 * 4, path=path, what=f"{frames} frames x {m} bodies")
    full = np.zeros((frames, m, NUM_JOINTS, 12), dtype=np.float32)
    full[frame_of[use], slot[use]] = joints[use]
    body_info = np.zeros((frames, m, 9), dtype=np.float32)
    body_info[frame_of[use], slot[use]] = info[use]
    dropped = [u for u in distinct if u not in body_ids]
    if dropped:
        log.info("%s: kept %d of %d bodies (dropped ids %s)", path, m, len(distinct), dropped)
    state = full[..., 11].astype(np.int8)  # 0, 1 or 2 (checked above)
    meta = {
        "source": str(path), "format": "ntu",
        "depth_xy": full[..., 3:5].astype(np.float32), "color_xy": full[..., 5:7].astype(np.float32),
        "orientation": full[..., 7:11].astype(np.float32), "tracking_state": state, "body_info": body_info,
        "body_ids": body_ids, "bodies_per_frame": np.asarray(per_frame, dtype=np.int64),
        "all_body_ids": distinct, "body_energy": energy,
    }
    return make_sequence(path, full[..., :3], "ntu25", 30.0, meta, confidence=state.astype(np.float32) / 2.0)


def write_ntu_skeleton(seq: SkeletonSequence, path: PathLike) -> None:
    """Write ``seq`` (layout ``ntu25``/``ntu25_pyskl``, ``C = 3``) as an NTU ``.skeleton`` file.

    A person that is all zeros in a frame is not listed in that frame. Extra values come from the
    ``meta`` arrays of :func:`read_ntu_skeleton` when present (zeros otherwise; tracking state from
    ``meta["tracking_state"]``, else ``round(2 * confidence)``, else 2). Missing (NaN) joints are written
    as zeros with tracking state 0. Values use ``%.9g`` so float32 data round-trips exactly.
    """
    if seq.num_joints != NUM_JOINTS or seq.num_channels != 3:
        raise ValueError(f"NTU files need V=25, C=3; got V={seq.num_joints}, C={seq.num_channels}")
    t, m, v, _ = seq.data.shape
    meta = seq.meta
    nan = np.isnan(seq.data).any(-1)
    xyz = np.nan_to_num(seq.data, nan=0.0)

    def _get(key: str, shape: tuple[int, ...], default: float = 0.0) -> np.ndarray:
        val = meta.get(key)
        if val is not None and np.shape(val) == shape:
            return np.asarray(val, dtype=np.float64)
        return np.full(shape, default, dtype=np.float64)

    if meta.get("tracking_state") is not None and np.shape(meta["tracking_state"]) == (t, m, v):
        state = np.asarray(meta["tracking_state"], dtype=np.float64)
    elif seq.confidence is not None:
        state = np.rint(seq.confidence * 2.0)
    else:
        state = np.full((t, m, v), 2.0)
    state = np.where(nan, 0.0, state)
    rows = np.concatenate([xyz, _get("depth_xy", (t, m, v, 2)), _get("color_xy", (t, m, v, 2)),
                           _get("orientation", (t, m, v, 4)), state[..., None]], axis=-1)
    info = _get("body_info", (t, m, 9))
    ids = list(meta.get("body_ids") or [])
    ids = [int(ids[k]) if k < len(ids) and ids[k] is not None else _DEFAULT_ID + k for k in range(m)]
    present = (xyz != 0).any(axis=(2, 3))  # (T, M)
    jfmt = " ".join(["%.9g"] * 11 + ["%d"])
    out = [str(t)]
    for f in range(t):
        persons = np.flatnonzero(present[f])
        out.append(str(len(persons)))
        for p in persons:
            bi = info[f, p]
            out.append(f"{ids[p]} " + " ".join(f"{int(x)}" for x in bi[:6]) + f" {bi[6]:.9g} {bi[7]:.9g} {int(bi[8])}")
            out.append(str(NUM_JOINTS))
            out.extend(jfmt % tuple(r) for r in rows[f, p])
    Path(path).write_text("\n".join(out) + "\n")
