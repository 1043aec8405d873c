"""``skelzoo extract INPUT... [--model NAME] --out FILE.npz``: per-frame features of recordings."""
from __future__ import annotations

import argparse
from pathlib import Path

from .localize import add_model_fps_argument
from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="write per-frame features of recordings to an .npz file",
                       description="Run a localizer's neck (frame_features) or a backbone's last feature map "
                                   "(averaged over joints and persons, upsampled to T) on each recording, "
                                   "resampled to the model's frame rate (--model-fps); the .npz holds one "
                                   "(T, D) float32 array per input, T = the recording's frames.")
    p.add_argument("inputs", nargs="*", type=Path, help="skeleton files")
    p.add_argument("--example", action="store_true", help="use the bundled example recording")
    p.add_argument("--model", default=None,
                   help="model name (default: the bundled default localizer that fits each recording: the 3-D one "
                        "for skeletons, the 2-D one for 2-D keypoints)")
    p.add_argument("--format", default=None, help="input format (default: inferred)")
    p.add_argument("--fps", type=float, default=None, help="override the recording's frame rate")
    add_model_fps_argument(p)
    p.add_argument("--out", type=Path, required=True, help="output .npz")
    p.add_argument("--device", default="cpu")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="log each step (reading, format, resampling, preprocessing) to stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..localization.pipeline import extract_features
    from .localize import ModelChoice, recording_jobs, run_each, set_verbose

    set_verbose(args)
    recording_jobs(args)  # argument errors before the model is loaded
    models = ModelChoice(args, "extract", need_localizer=False)
    from ._checks import check_rate
    arrays, rows = {}, []

    def work(name, src, labels):
        from ..localization.input_spec import as_sequence
        seq = as_sequence(src, format=args.format)
        model_name, model, rate = models.for_sequence(name, seq)
        check_rate(name, seq, rate, args.fps)
        feats = extract_features(model, seq, model_fps=rate, fps=args.fps).astype(np.float32)
        fps = float(args.fps or seq.fps)
        return name, feats, {"model": model_name, "format": seq.meta.get("format"), "layout": seq.layout,
                             "fps": fps, "model_fps": float(rate or fps)}

    done, failed = run_each(args, "extract", work)
    for i, (name, feats, info) in enumerate(done):
        key = f"x{i}_{Path(name).stem}"
        arrays[key] = feats
        rows.append({"input": name, "key": key, "shape": list(feats.shape), **info})
    if arrays:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.out, **arrays)
    model_name, model = models.first
    doc = {"model": model_name, "input_spec": model.input_spec.to_dict(), "out": str(args.out) if arrays else None,
           "features": rows}
    if failed:
        doc["failed"] = failed
    print_json(doc)
    return 2 if failed else 0
