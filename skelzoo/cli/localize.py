"""``skelzoo localize INPUT... [--model NAME] [--out FILE.json] [--plot FILE.png]``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..localization._weights import DEFAULT_LOCALIZER as DEFAULT_MODEL  # bundled, runs offline
from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("localize", help="localize actions (what, from when to when) in recordings",
                       description="Read each recording, run a localization model, decode frame scores "
                                   "into segments and print them as JSON (frames and seconds).")
    p.add_argument("inputs", nargs="*", type=Path, help="skeleton files (.skeleton, .txt, .csv, .bvh, .npy/.npz, .json)")
    p.add_argument("--example", action="store_true",
                   help="localize the bundled example recording (synthesised by skelzoo; ground truth known)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"localizer name, arch.tag, hf-hub: or local-dir: (default: {DEFAULT_MODEL}, bundled)")
    p.add_argument("--decoder", default="argmax", choices=("argmax", "official"),
                   help="argmax (default) = run-length segments of the smoothed frame argmax, one label per frame; "
                        "official = the paper's multi-threshold proposals + NMS (overlapping, ranked: for mAP)")
    p.add_argument("--smoothing", type=int, default=5, help="argmax: moving-average window in frames (default 5)")
    p.add_argument("--min-duration", type=int, default=8,
                   help="argmax: drop segments shorter than this many frames (default 8)")
    p.add_argument("--format", default=None, help="input format (default: inferred)")
    p.add_argument("--fps", type=float, default=None, help="override the recording's frame rate")
    add_model_fps_argument(p)
    p.add_argument("--out", type=Path, default=None, help="write the JSON result here too")
    p.add_argument("--plot", type=Path, default=None, help="timeline image of the segments (needs matplotlib)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.set_defaults(func=run)


def add_model_fps_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-fps", type=float, default=None, metavar="FPS",
                   help="resample each recording to this frame rate before the model (default: the rate the "
                        "model expects: its registered fps, else 30, the rate of skelzoo's training data); "
                        "0 = never resample. Results stay in the recording's frames and seconds; the JSON "
                        "gives both rates (fps = the recording's, model_fps = the one the model ran at)")


def model_rate(args: argparse.Namespace, model) -> float | None:
    """``--model-fps`` -> the rate to resample to (``None``: keep each recording's)."""
    from ..localization.pipeline import resolve_model_fps

    return resolve_model_fps(model, "auto" if args.model_fps is None else args.model_fps, name=args.model)


def _load(name: str, device: str, *, need_localizer: bool = True):
    """Load a model for the CLI: registry names get their (default) weights, never random ones."""
    from ..zoo._registry import get_entry, split_name
    from ..zoo.api import load_model

    is_path = name.startswith("hf-hub:") or name.startswith("local-dir:")
    if not is_path:
        entry = get_entry(split_name(name)[0])
        if need_localizer and entry.task != "localization":
            raise ValueError(f"{name!r} is a {entry.task} model; localize needs a localization model "
                             f"(see `skelzoo list --pretrained '*_ufusion*'`)")
    return load_model(name, pretrained=not is_path and "." not in name, device=device)


def read_recordings(args: argparse.Namespace) -> list[tuple[str, Any, Any]]:
    """``(name, SkeletonSequence, ground-truth labels or None)`` of ``--example`` and every INPUT file, with
    the ``--fps`` override applied (shared by ``localize`` and ``extract``)."""
    if not args.inputs and not args.example:
        raise ValueError("give at least one INPUT file, or --example")
    from ._checks import check_fps_option, check_model_fps_option
    check_fps_option(args.fps)
    check_model_fps_option(args.model_fps)
    jobs = []
    if args.example:
        from ..data.synth import example_sequence
        seq, labels = example_sequence()
        jobs.append(("example", seq, labels))
    for path in args.inputs:
        from ..io import read_skeleton
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        jobs.append((str(path), read_skeleton(path, format=args.format), None))
    if args.fps is not None:
        for _, seq, _ in jobs:
            seq.fps = float(args.fps)
    return jobs


def run(args: argparse.Namespace) -> int:
    from ..localization.pipeline import localize_sequence

    jobs = read_recordings(args)
    model = _load(args.model, args.device)
    rate = model_rate(args, model)
    from ._checks import check_rates
    check_rates(jobs, rate)
    results, out = [], []
    for name, seq, labels in jobs:
        params = ({"smoothing": args.smoothing, "min_duration": args.min_duration}
                  if args.decoder == "argmax" else {})
        res = localize_sequence(model, seq, name=name, method=args.decoder, model_fps=rate, **params)
        results.append((res, labels))
        out.append(res.to_dict())
    doc = {"model": args.model, "architecture": model.skelzoo_config["architecture"],
           "tag": model.skelzoo_config.get("tag"), "class_names": list(model.class_names),
           "decoder": args.decoder, "decoder_params": ({"smoothing": args.smoothing, "min_duration": args.min_duration}
                                                      if args.decoder == "argmax" else "paper defaults"),
           "results": out}
    if args.out:
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
    if args.plot:
        _plot(results, model, args.plot)
        doc["plot"] = [str(p) for p in _plot_paths(args.plot, len(results))]
    print_json(doc)
    return 0


def _plot_paths(path: Path, n: int) -> list[Path]:
    if n == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{i}{path.suffix}") for i in range(n)]


def _plot(results, model, path: Path) -> None:
    from ..viz import plot_timeline

    names = list(model.class_names) or [str(i) for i in range(model.num_classes)]
    for (res, labels), p in zip(results, _plot_paths(path, len(results))):
        gt = None
        if labels is not None:
            gt = _labels_to_segments(labels, names, res.fps)
        plot_timeline(res.segments, res.num_frames, res.fps, names, p, ground_truth=gt,
                      title=f"{res.input} — {model.skelzoo_config['architecture']}")


def _labels_to_segments(labels: list[str], names: list[str], fps: float):
    """Per-frame action names -> ground-truth segments of the classes the model knows."""
    import numpy as np

    from ..localization.segments import segments_from_arrays

    lookup = {n: i for i, n in enumerate(names)}
    idx = np.array([lookup.get(lab, -1) for lab in labels])
    change = np.flatnonzero(np.diff(idx)) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(idx)]
    keep = idx[starts] >= 0
    return segments_from_arrays(idx[starts][keep], starts[keep], ends[keep], np.ones(keep.sum()), fps=fps,
                                class_names=names)
