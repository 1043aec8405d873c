"""Benchmark: official decoding (multi-threshold proposals + NMS) and segment mAP.

skelzoo's vectorised path (:func:`skelzoo.localization.decode.cas_proposals_batch` +
:func:`skelzoo.evaluation.segment_map.segment_map`) against a plain Python loop implementation of the same
rules (written below: per-frame run finding, per-proposal NMS, per-prediction greedy matching), on the same
seeded, structured data. Checks that both give identical proposals and mAPs, then prints a table of median
times over several repetitions.

Usage::

    python benchmarks/evaluate.py [--sequences 1000] [--frames 1000] [--classes 5] [--repeats 3]

``--classes`` counts the background column (5 = four actions + background, as the BABEL subsets).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skelzoo.evaluation.segment_map import segment_map  # noqa: E402
from skelzoo.localization.decode import DEFAULT_CAS_THRESHOLDS, cas_proposals_batch  # noqa: E402

TIOU = (0.1, 0.2, 0.3, 0.4, 0.5)


# ----------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------
def make_data(n_seq: int, n_frames: int, n_cols: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Seeded structured CAS ``(T, K)`` (softmax of noisy, smoothed one-hot logits) and frame labels ``(T,)``."""
    rng = np.random.default_rng(seed)
    cas_list, labels_list = [], []
    kernel = np.ones(9) / 9.0
    for _ in range(n_seq):
        lengths = rng.integers(15, 120, size=n_frames // 15 + 1)
        seg_labels = rng.integers(0, n_cols, size=lengths.size)
        labels = np.repeat(seg_labels, lengths)[:n_frames]
        logits = 1.2 * np.eye(n_cols)[labels] + rng.normal(0.0, 1.5, size=(n_frames, n_cols))
        logits = np.stack([np.convolve(logits[:, k], kernel, mode="same") for k in range(n_cols)], axis=1) * 3.0
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        cas_list.append(z / z.sum(axis=1, keepdims=True))
        labels_list.append(labels)
    return cas_list, labels_list


# ----------------------------------------------------------------------------------------------------------
# plain loop baseline (same rules as method.md sections 6-7)
# ----------------------------------------------------------------------------------------------------------
def loop_proposals(cas: np.ndarray, columns: range) -> list[tuple[int, int, int, float]]:
    """Official proposals of one sequence with per-frame / per-proposal Python loops: (label, s, e, score)."""
    t_len = cas.shape[0]
    out = []
    for c in columns:
        v = cas[:, c]
        cands = []
        for th in DEFAULT_CAS_THRESHOLDS:
            t = 0
            while t < t_len:
                if v[t] > th:
                    s = t
                    while t < t_len and v[t] > th:
                        t += 1
                    n = t - s
                    if n >= 3:
                        inner = np.mean(v[s:t + 1])
                        left = v[max(0, int(s - n / 4)):s]
                        right = v[t + 1:min(t_len - 1, int(t + n / 4 + 1))]
                        margins = np.concatenate([left, right])
                        outer = np.mean(margins) if margins.size else 0.0
                        cands.append((s, t, float(inner - 0.6 * outer)))
                else:
                    t += 1
        order = sorted(range(len(cands)), key=lambda i: (-cands[i][2], i))
        while order:
            i = order.pop(0)
            si, ei = cands[i][0], cands[i][1] + 1
            out.append((c, cands[i][0], cands[i][1], cands[i][2]))
            remaining = []
            for j in order:
                sj, ej = cands[j][0], cands[j][1] + 1
                if max(0, min(ei, ej) - max(si, sj) + 1) / (ej - sj + 1) <= 0.2:
                    remaining.append(j)
            order = remaining
    return out


def loop_map(preds: list[list[tuple[int, int, int, float]]], labels: list[np.ndarray], background: int,
             protocol: str) -> list[float]:
    """Segment mAP x 100 per threshold with per-prediction Python loops."""
    gts: dict[int, dict[int, list[tuple[int, int]]]] = {}
    for v, lab in enumerate(labels):
        lab = lab.tolist()
        start = 0
        for t in range(1, len(lab) + 1):
            if t == len(lab) or lab[t] != lab[start]:
                if lab[start] != background:
                    gts.setdefault(lab[start], {}).setdefault(v, []).append((start, t))
                start = t
    result = []
    for thr in TIOU:
        aps = []
        for c in sorted(gts):
            ranked = sorted(((sc, v, i, s, e) for v, p in enumerate(preds) for i, (cc, s, e, sc) in enumerate(p) if cc == c),
                            key=lambda x: (-x[0], x[1], x[2]))
            used = {v: [False] * len(g) for v, g in gts[c].items()}
            n_gt = sum(len(g) for g in gts[c].values())
            tp = []
            for _, v, _, s, e in ranked:
                p0, p1 = (s, e + 1) if protocol == "line" else (s, e)
                best, best_iou = -1, -1.0
                for j, (a, b) in enumerate(gts[c].get(v, [])):
                    if used[v][j]:
                        continue
                    g0, g1 = (a, b - 1) if protocol == "line" else (a, b)
                    inter = max(0, min(p1, g1) - max(p0, g0))
                    union = (p1 - p0) + (g1 - g0) - inter
                    iou = inter / union if union > 0 else 0.0
                    if iou >= thr and iou > best_iou:
                        best, best_iou = j, iou
                if best >= 0:
                    used[v][best] = True
                tp.append(1 if best >= 0 else 0)
            aps.append(_loop_voc_ap(tp, n_gt))
        result.append(100.0 * sum(aps) / len(aps))
    return result


def _loop_voc_ap(tp: list[int], n_gt: int) -> float:
    if not tp or not any(tp):
        return 0.0
    rec, prec, cum = [0.0], [0.0], 0
    for i, x in enumerate(tp):
        cum += x
        rec.append(cum / n_gt)
        prec.append(cum / (i + 1))
    rec.append(1.0)
    prec.append(0.0)
    for i in range(len(prec) - 2, -1, -1):
        prec[i] = max(prec[i], prec[i + 1])
    return sum((rec[i + 1] - rec[i]) * prec[i + 1] for i in range(len(rec) - 1) if rec[i + 1] != rec[i])


# ----------------------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------------------
def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--classes", type=int, default=5, help="columns including background")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    cas_list, labels = make_data(args.sequences, args.frames, args.classes, args.seed)
    bg = args.classes - 1
    actions = range(bg)

    # warm-up of the vectorised path (first-call overheads) on a few sequences
    segment_map(cas_proposals_batch(cas_list[:4], columns=actions), labels[:4], background=bg, classes=list(actions))

    t_dec_vec, props = median_time(lambda: cas_proposals_batch(cas_list, columns=actions), args.repeats)
    t_dec_loop, loop_props = median_time(lambda: [loop_proposals(c, actions) for c in cas_list], args.repeats)

    # identical proposals (same segments, scores equal to rounding)
    for p, q in zip(props, loop_props):
        got = sorted(zip(p.label.tolist(), p.start.tolist(), p.end.tolist()))
        exp = sorted((c, s, e) for c, s, e, _ in q)
        assert got == exp, "proposal mismatch"
        np.testing.assert_allclose(sorted(p.score.tolist()), sorted(sc for *_, sc in q), rtol=0, atol=1e-12)
    n_props = sum(len(p) for p in props)

    rows = [("decode (proposals + NMS)", t_dec_vec, t_dec_loop)]
    maps = {}
    for protocol in ("line", "clean"):
        t_vec, res = median_time(lambda: segment_map(props, labels, background=bg, tiou_thresholds=TIOU,
                                                     protocol=protocol), args.repeats)
        t_loop, loop_res = median_time(lambda: loop_map(loop_props, labels, bg, protocol), args.repeats)
        np.testing.assert_allclose(res.map, loop_res, rtol=0, atol=1e-9)
        rows.append((f"segment mAP ({protocol})", t_vec, t_loop))
        maps[protocol] = res
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows)))

    print(f"data: {args.sequences} sequences x {args.frames} frames x {args.classes} columns "
          f"(background = {bg}), seed {args.seed}; {n_props} proposals after NMS; "
          f"median of {args.repeats} runs")
    for protocol, res in maps.items():
        print(f"mAP [{protocol}] " + " ".join(f"@{t:g}={m:.3f}" for t, m in zip(res.tiou_thresholds, res.map))
              + f" avg={res.average:.3f} (vectorised == loop: identical)")
    print(f"| {'step':<26} | {'skelzoo (s)':>11} | {'loop (s)':>9} | {'speed-up':>8} |")
    print(f"|{'-' * 28}|{'-' * 13}|{'-' * 11}|{'-' * 10}|")
    for name, tv, tl in rows:
        print(f"| {name:<26} | {tv:>11.3f} | {tl:>9.3f} | {tl / tv:>7.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
