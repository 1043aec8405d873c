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
    p.add_argument("--model", default=None, help="model name (default: the default localizer)")
    p.add_argument("--format", default=None, help="input format (default: inferred)")
    p.add_argument("--fps", type=float, default=None, help="override the recording's frame rate")
    add_model_fps_argument(p)
    p.add_argument("--out", type=Path, required=True, help="output .npz")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..localization.pipeline import extract_features
    from .localize import DEFAULT_MODEL, _load, model_rate, read_recordings

    jobs = read_recordings(args)
    args.model = args.model or DEFAULT_MODEL
    model = _load(args.model, args.device, need_localizer=False)
    rate = model_rate(args, model)
    from ._checks import check_rates
    check_rates(jobs, rate)
    arrays, rows = {}, []
    for i, (name, seq, _) in enumerate(jobs):
        feats = extract_features(model, seq, model_fps=rate).astype(np.float32)
        key = f"x{i}_{Path(name).stem}"
        arrays[key] = feats
        rows.append({"input": name, "key": key, "shape": list(feats.shape), "fps": seq.fps,
                     "model_fps": float(rate or seq.fps)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print_json({"model": args.model, "out": str(args.out), "features": rows})
    return 0
