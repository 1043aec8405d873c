"""``skelzoo evaluate PRED GT``: segment mAP of predicted segments against ground truth (JSON files).

PRED (either form; frames are 0-based, ``end`` exclusive)::

    {"videos": {"<id>": {"segments": [{"label": 0, "start": 12, "end": 40, "score": 0.83}, ...]}, ...}}
    {"results": [{"input": "<path>", "segments": [...]}, ...]}      # output of ``skelzoo localize``

    Extra keys in a segment (``name``, ``start_s``, ...) are ignored. ``{"videos": {"<id>": [...]}}`` (a bare
    segment list per video) is accepted too.

GT (either form per video; a top-level ``"background"`` is the default for every video)::

    {"videos": {"<id>": {"labels": [4, 4, 0, 0, ...], "background": 4}, ...}}
    {"videos": {"<id>": {"segments": [{"label": 0, "start": 2, "end": 10}, ...]}, ...}}

Matching: a PRED key equal to a GT id is used as is; otherwise (e.g. ``localize`` paths) a key matches the GT
id equal to its file name or file stem, when unique. GT videos without predictions count as misses; a PRED
entry matching no GT video is an error.

Class names: a top-level ``"class_names"`` list in GT or PRED (``skelzoo localize`` writes it, and
``skelzoo localize --example --write-gt FILE`` writes a GT file with it) names the per-class results.

Output: a table on a terminal; JSON on stdout when piped or with ``--json`` (and in ``--out``); every number is
an object ``{"value": x, "protocol": name}``; ``per_class`` holds the results by class name.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path, PurePath
from typing import Any

from ..evaluation.segment_map import DEFAULT_TIOU_THRESHOLDS, PROTOCOLS, SegmentMAPResult, segment_map

__all__ = ["register", "run", "evaluate_files", "load_predictions", "load_ground_truth", "result_to_json"]

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``evaluate`` sub-command to an ``argparse`` sub-parsers object; sets ``func=run``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="segment mAP of predicted segments (JSON) against ground truth (JSON)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pred", metavar="PRED", help="predicted segments JSON")
    parser.add_argument("gt", metavar="GT", help="ground-truth JSON (frame labels or segments)")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="clean",
                        help="IoU protocol: clean (exact frames, default) or line (official frame-offset quirk)")
    parser.add_argument("--tiou", type=float, nargs="+", default=list(DEFAULT_TIOU_THRESHOLDS),
                        metavar="T", help="tIoU thresholds (default 0.1 0.2 0.3 0.4 0.5)")
    parser.add_argument("--classes", type=int, nargs="+", default=None, metavar="C",
                        help="classes to average (default: every class present in the GT)")
    parser.add_argument("--out", default=None, metavar="FILE", help="also write the JSON result here")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout even on a terminal "
                        "(default: a table on a terminal, JSON when piped)")
    parser.set_defaults(func=run)
    return parser


def _read_json(path: str, what: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ValueError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise ValueError(f"{what} file {path}: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} file {path} is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what} file {path}: expected a JSON object at the top level")
    return data


def _segment_rows(segments: Any, where: str, with_score: bool) -> list[tuple[int, int, int, float]]:
    if not isinstance(segments, list):
        raise ValueError(f"{where}: 'segments' must be a list")
    rows = []
    need = ("label", "start", "end", "score") if with_score else ("label", "start", "end")
    for i, seg in enumerate(segments):
        if not isinstance(seg, dict) or any(k not in seg for k in need):
            raise ValueError(f"{where}: segment {i} must be an object with keys {', '.join(need)}")
        try:
            label, start, end = int(seg["label"]), int(seg["start"]), int(seg["end"])
            score = float(seg["score"]) if with_score else 1.0
        except (TypeError, ValueError):
            raise ValueError(f"{where}: segment {i} has a non-numeric field") from None
        if end <= start or start < 0:
            raise ValueError(f"{where}: segment {i} has invalid frames [{start}, {end}) (need 0 <= start < end)")
        rows.append((label, start, end, score))
    return rows


def load_predictions(data: dict[str, Any]) -> dict[str, list[tuple[int, int, int, float]]]:
    """Per-video ``(label, start, end, score)`` rows from a PRED JSON object (either documented form)."""
    if "videos" in data:
        videos = data["videos"]
        if not isinstance(videos, dict):
            raise ValueError("PRED: 'videos' must be an object keyed by video id")
        out = {}
        for vid, entry in videos.items():
            segs = entry.get("segments") if isinstance(entry, dict) else entry
            out[str(vid)] = _segment_rows(segs, f"PRED video {vid!r}", with_score=True)
        return out
    if "results" in data:
        if not isinstance(data["results"], list):
            raise ValueError("PRED: 'results' must be a list")
        out = {}
        for i, entry in enumerate(data["results"]):
            if not isinstance(entry, dict) or "input" not in entry or "segments" not in entry:
                raise ValueError(f"PRED: results[{i}] must have 'input' and 'segments'")
            out[str(entry["input"])] = _segment_rows(entry["segments"], f"PRED {entry['input']!r}", with_score=True)
        return out
    raise ValueError("PRED: expected a top-level 'videos' or 'results' key")


def load_ground_truth(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-video ``{"labels": [...], "background": K}`` or ``{"segments": rows, "background": K|None}``."""
    videos = data.get("videos")
    if not isinstance(videos, dict) or not videos:
        raise ValueError("GT: expected a non-empty object 'videos' keyed by video id")
    default_bg = data.get("background")
    out: dict[str, dict[str, Any]] = {}
    for vid, entry in videos.items():
        if not isinstance(entry, dict):
            raise ValueError(f"GT video {vid!r}: expected an object with 'labels' or 'segments'")
        bg = entry.get("background", default_bg)
        if "labels" in entry:
            if bg is None:
                raise ValueError(f"GT video {vid!r}: frame labels need a 'background' index")
            labels = entry["labels"]
            if not isinstance(labels, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in labels):
                raise ValueError(f"GT video {vid!r}: 'labels' must be a list of integers")
            out[str(vid)] = {"labels": labels, "background": int(bg)}
        elif "segments" in entry:
            rows = _segment_rows(entry["segments"], f"GT video {vid!r}", with_score=False)
            out[str(vid)] = {"segments": rows, "background": None if bg is None else int(bg)}
        else:
            raise ValueError(f"GT video {vid!r}: needs 'labels' or 'segments'")
    return out


def _match_keys(pred_keys: list[str], gt_ids: list[str]) -> dict[str, str]:
    """Map every PRED key to a GT id (exact, else unique file name / stem match)."""
    gt_set = set(gt_ids)
    mapping: dict[str, str] = {}
    unmatched = []
    for key in pred_keys:
        if key in gt_set:
            mapping[key] = key
            continue
        path = PurePath(key)
        hits = {g for g in gt_ids if g in (path.name, path.stem)}
        if len(hits) == 1:
            mapping[key] = hits.pop()
        else:
            unmatched.append(key)
    if unmatched:
        raise ValueError(f"PRED has {len(unmatched)} video(s) not in GT, e.g. {unmatched[0]!r}")
    targets = list(mapping.values())
    dup = {t for t in targets if targets.count(t) > 1}
    if dup:
        raise ValueError(f"several PRED entries map to GT video {sorted(dup)[0]!r}")
    return mapping


def evaluate_files(pred_path: str, gt_path: str, *, protocol: str = "clean",
                   tiou: list[float] | None = None, classes: list[int] | None = None) -> SegmentMAPResult:
    """Load both JSON files and compute the segment mAP."""
    preds = load_predictions(_read_json(pred_path, "PRED"))
    gt = load_ground_truth(_read_json(gt_path, "GT"))
    mapping = _match_keys(list(preds), list(gt))
    by_gt = {g: preds[k] for k, g in mapping.items()}
    ids = list(gt)
    missing = [v for v in ids if v not in by_gt]
    if missing:
        logger.warning("%d GT video(s) have no predictions (counted as misses), e.g. %r", len(missing), missing[0])
    pred_list = [by_gt.get(v, []) for v in ids]
    forms = {"labels" in gt[v] for v in ids}
    if len(forms) != 1:
        raise ValueError("GT: mix of 'labels' and 'segments' videos; use one form for all videos")
    kwargs: dict[str, Any] = {"tiou_thresholds": tiou or DEFAULT_TIOU_THRESHOLDS, "protocol": protocol,
                              "classes": classes}
    if forms.pop():
        return segment_map(pred_list, [gt[v]["labels"] for v in ids],
                           background=[gt[v]["background"] for v in ids], **kwargs)
    bgs = {gt[v]["background"] for v in ids} - {None}
    bg_filtered = [[r for r in p if r[0] not in bgs] for p in pred_list]
    return segment_map(bg_filtered, gt_segments=[gt[v]["segments"] for v in ids], **kwargs)


def result_to_json(result: SegmentMAPResult) -> dict[str, Any]:
    """CLI output: every number as ``{"value": x, "protocol": name}`` (x 100)."""
    p = result.protocol

    def num(x: float) -> dict[str, Any]:
        return {"value": round(float(x), 6), "protocol": p}

    d = result.to_dict()
    return {
        "protocol": p,
        "protocol_description": PROTOCOLS[p],
        "tiou_thresholds": d["tiou_thresholds"],
        "classes": d["classes"],
        "mAP": {t: num(v) for t, v in d["mAP"].items()},
        "average_mAP": num(d["average_mAP"]),
        "per_class_AP": {c: {t: num(v) for t, v in row.items()} for c, row in d["per_class_AP"].items()},
        "num_gt": d["num_gt"],
        "num_pred": d["num_pred"],
    }


def class_names_of(pred_path: str, gt_path: str) -> list[str]:
    """The ``class_names`` list of the GT file, else of the PRED file (empty when neither has one)."""
    for path, what in ((gt_path, "GT"), (pred_path, "PRED")):
        names = _read_json(path, what).get("class_names")
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return names
    return []


def per_class_by_name(result: SegmentMAPResult, names: list[str]) -> dict[str, dict[str, Any]]:
    """Per-class AP (average over the thresholds and per threshold), GT and predicted counts, keyed by class
    name (``"class <i>"`` when unnamed)."""
    d = result.to_dict()
    out = {}
    for c in d["classes"]:
        key = names[int(c)] if 0 <= int(c) < len(names) else f"class {c}"
        row = d["per_class_AP"][str(c)]
        out[key] = {"label": int(c), "AP_avg": round(sum(row.values()) / max(len(row), 1), 6),
                    "AP": {t: round(v, 6) for t, v in row.items()},
                    "num_gt": d["num_gt"][str(c)], "num_pred": d["num_pred"][str(c)]}
    return out


def render_table(doc: dict[str, Any]) -> str:
    """Terminal form of the result: one row per class (by name), then the mean."""
    from ._table import format_table

    ts = doc["tiou_thresholds"]
    rows = [[name, r["num_gt"], r["num_pred"]] + [f"{r['AP'][_k(t)]:.1f}" for t in ts] + [f"{r['AP_avg']:.1f}"]
            for name, r in doc["per_class"].items()]
    rows.append(["mAP", sum(r["num_gt"] for r in doc["per_class"].values()),
                 sum(r["num_pred"] for r in doc["per_class"].values())]
                + [f"{doc['mAP'][_k(t)]['value']:.1f}" for t in ts] + [f"{doc['average_mAP']['value']:.1f}"])
    header = ["class", "GT", "pred"] + [f"AP@{t:g}" for t in ts] + ["average"]
    return (f"segment AP (x100), protocol {doc['protocol']}: {doc['protocol_description']}\n"
            + format_table(header, rows, align="l" + "r" * (len(header) - 1)))


def _k(t: float) -> str:
    from ..evaluation.segment_map import tiou_key
    return tiou_key(t)


def run(args: argparse.Namespace) -> int:
    """Run ``skelzoo evaluate``; prints the result (table on a terminal, else JSON) and returns 0. Bad input
    raises ValueError."""
    from ._table import want_table

    result = evaluate_files(args.pred, args.gt, protocol=args.protocol, tiou=args.tiou, classes=args.classes)
    doc = result_to_json(result)
    names = class_names_of(args.pred, args.gt)
    if names:
        doc["class_names"] = names
    doc["per_class"] = per_class_by_name(result, names)
    text = json.dumps(doc, indent=2)
    print(render_table(doc) if want_table(args.json) else text)
    if args.out:
        try:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    return 0
