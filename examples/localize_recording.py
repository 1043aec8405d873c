#!/usr/bin/env python3
"""Localize actions in a skeleton recording: what happens, from when to when.

Steps (skelzoo's public API):

1. ``skelzoo.load_model(NAME)`` loads a localizer; by default the bundled default localizer (``stgcnpp_ufusion.snipclr_bandai_w16``)
   (AGCN + SnipCLR U-fusion neck, 10 Bandai-Namco actions, weights inside the package, offline), or any
   ``--model`` (``arch.tag``, ``local-dir:FOLDER`` such as ``OUT/run/model`` of
   ``examples/finetune_own_data.py``, ``hf-hub:ORG/REPO``);
2. ``skelzoo.read_skeleton(FILE)`` reads the recording (NTU ``.skeleton``, PKU-MMD ``.txt``, Kinect v2 CSV,
   BVH, ``.npy``/``.npz``, JSON keypoints); without a file the bundled example recording is used (the one of
   ``skelzoo localize --example``, synthesised by :mod:`skelzoo.data.synth`, ground truth known);
3. ``model.input_spec`` is what the weights were trained with: layout, persons, frame rate (its registered
   ``fps``, else 30 fps, the rate of skelzoo's training data; ``--model-fps`` overrides it, 0 = never
   resample) and preprocessing;
4. ``model.localize(seq, model_fps=...)`` (the data path of ``skelzoo localize``) applies it with
   ``skelzoo.prepare`` (resampling on time, layout conversion, missing joints, persons, the NTU
   pre-normalisation), decodes the frame scores into segments (``Segment``: ``label``, ``name``,
   ``start``/``end`` frames, ``start_s``/``end_s`` seconds, ``score``) and maps them back to the frames and
   seconds of the original recording. ``--decoder argmax`` (default) gives one label
   per frame (smoothed, short runs dropped; ``--smoothing`` / ``--min-duration`` count frames at the
   model's rate); ``official`` gives the paper's ranked, possibly overlapping proposals (what segment mAP
   scores).

Output: a table of segments on stdout, a JSON file (``--out``; ``fps`` = the recording's rate,
``model_fps`` = the rate the model ran at) and a timeline picture (``--plot``, with the ground truth of the
example underneath; skipped with a note when matplotlib is missing).

Usage::

    python examples/localize_recording.py                                   # bundled example
    python examples/localize_recording.py ../shared/data/pku-mmd-sample/A10N08-L.txt --plot pku.png
    python examples/localize_recording.py my.bvh --model local-dir:runs/finetune_own/run/model

Expected runtime: ~5 seconds on CPU for the bundled example (720 frames); a few seconds per minute of
recording.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

import skelzoo
from skelzoo.errors import SkelzooError
from skelzoo.io import SkeletonSequence

DEFAULT_MODEL = "stgcnpp_ufusion.snipclr_bandai_w16"  # the bundled default localizer


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="About 5 seconds on CPU for the bundled example. See examples/README.md.")
    p.add_argument("input", nargs="?", type=Path, default=None,
                   help="skeleton file (.skeleton, .txt, .csv, .bvh, .npy/.npz, .json); default: the bundled example")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"localizer: arch.tag, arch (default weights), local-dir:FOLDER or hf-hub:ORG/REPO "
                        f"(default {DEFAULT_MODEL}, bundled)")
    p.add_argument("--format", default=None, help="input format (default: detected from the file)")
    p.add_argument("--fps", type=float, default=None, help="override the recording's frame rate")
    p.add_argument("--model-fps", type=float, default=None,
                   help="resample the recording to this rate first (default: the model's registered rate, else "
                        "30 fps, the rate of skelzoo's training data); 0 = never resample. Segments are reported "
                        "in frames of the original recording")
    p.add_argument("--decoder", choices=("argmax", "official"), default="argmax",
                   help="argmax: one label per frame (default); official: the paper's ranked proposals + NMS")
    p.add_argument("--smoothing", type=int, default=5, help="argmax: moving-average window in frames (default 5)")
    p.add_argument("--min-duration", type=int, default=8, help="argmax: drop shorter segments (frames, default 8)")
    p.add_argument("--preprocess", choices=("auto", "ntu", "none"), default="auto",
                   help="input normalisation: auto = what the model declares, NTU pre-normalisation when it "
                        "declares nothing (every skelzoo training path pre-normalises); ntu; none")
    p.add_argument("--out", type=Path, default=Path("localization.json"),
                   help="JSON result (default localization.json)")
    p.add_argument("--plot", type=Path, default=Path("timeline.png"), help="timeline picture (default timeline.png)")
    p.add_argument("--no-plot", action="store_true", help="do not draw the timeline")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return p.parse_args(argv)


def load_localizer(name: str, device: str) -> nn.Module:
    """Load a localization model; a bare registered ``arch`` gets its default weights (never random ones)."""
    if name.startswith(("local-dir:", "hf-hub:")) or "." in name:
        model = skelzoo.load_model(name, device=device)
    else:
        model = skelzoo.load_model(name, pretrained=True, device=device)
    if getattr(model, "task", None) != "localization":
        raise ValueError(f"{name!r} is not a localization model (task {getattr(model, 'task', None)!r}); "
                         f"pick one of {skelzoo.list_models('*_ufusion*', pretrained=True)}")
    return model


def read_input(path: Path | None, fmt: str | None, fps: float | None) -> tuple[str, SkeletonSequence, list[str] | None]:
    """The recording, its display name and (bundled example only) its per-frame ground-truth action names."""
    if path is None:
        from skelzoo.data.synth import example_sequence

        seq, labels = example_sequence()
        name: str = "example"
    else:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        seq, labels, name = skelzoo.read_skeleton(path, format=fmt), None, str(path)
    if fps is not None:
        if fps <= 0:
            raise ValueError("--fps must be positive")
        seq.fps = float(fps)
    return name, seq, labels


def resolve_preprocess(model: nn.Module, choice: str) -> str:
    """``"ntu"`` or ``""`` (see ``--preprocess``)."""
    if choice != "auto":
        return "ntu" if choice == "ntu" else ""
    declared = str(getattr(model, "preprocess", "") or "")
    if declared != "ntu":
        print(f"  note: the model declares preprocessing {declared[:60] or 'none'!r}; applying the NTU "
              f"pre-normalisation (skelzoo's training data is pre-normalised; --preprocess none skips it)")
    return "ntu"


def ground_truth_segments(labels: list[str], class_names: Sequence[str], fps: float) -> list[Any]:
    """Per-frame action names -> segments of the classes the model knows (others count as background)."""
    from skelzoo.localization.segments import segments_from_frame_labels

    return segments_from_frame_labels(labels, class_names, fps)


def print_segments(segments: Sequence[Any], title: str) -> None:
    print(f"  {title}")
    if not segments:
        print("    (no action found)")
    for s in segments:
        print(f"    {s.name:<22} frames {s.start:>5}-{s.end:<5}  {s.start_s:7.2f}-{s.end_s:<7.2f} s  "
              f"score {s.score:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        print(f"[1/4] loading {args.model}")
        model = load_localizer(args.model, args.device)
        names = list(model.class_names) or [str(i) for i in range(int(model.num_classes))]
        print(f"  {model.skelzoo_config['architecture']} (tag {model.skelzoo_config.get('tag')}): "
              f"{len(names)} classes + background: {', '.join(names)}")

        print("[2/4] reading the recording")
        name, seq, labels = read_input(args.input, args.format, args.fps)
        print(f"  {name}: {seq.num_frames} frames at {seq.fps:g} fps ({seq.duration:.1f} s), {seq.num_persons} "
              f"person(s), layout {seq.layout}")

        print("[3/4] what the weights expect")
        model.preprocess = resolve_preprocess(model, args.preprocess)
        spec = model.input_spec
        print(f"  {spec}")
        rate = spec.fps if args.model_fps is None else (args.model_fps or None)
        if rate is None or abs(seq.fps - rate) <= 1e-3 * rate:
            print(f"  the model runs at the recording's {seq.fps:g} fps"
                  + (" (--model-fps 0: never resample)" if rate is None else ""))
        else:
            print(f"  resampling {seq.fps:g} -> {rate:g} fps for the model (--model-fps 0 keeps the rate); "
                  f"segments come back in the recording's frames")

        print(f"[4/4] localizing ({args.decoder} decoder)")
        params = {"smoothing": args.smoothing, "min_duration": args.min_duration} if args.decoder == "argmax" else {}
        segments = model.localize(seq, method=args.decoder, model_fps=rate or 0, **params)[0]
    except (OSError, ValueError, KeyError, ImportError, RuntimeError, SkelzooError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_segments(segments, f"predicted segments of {name}:")
    gt = ground_truth_segments(labels, names, seq.fps) if labels is not None else None
    if gt is not None:
        print_segments(gt, "ground truth (bundled example; its actions unknown to the model are background):")

    doc = {"input": name, "model": args.model, "architecture": model.skelzoo_config["architecture"],
           "class_names": names, "num_frames": seq.num_frames, "fps": float(seq.fps),
           "model_fps": float(rate or seq.fps), "decoder": args.decoder,
           "decoder_params": params, "segments": [s.to_dict() for s in segments]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")
    if not args.no_plot:
        try:
            from skelzoo.viz import plot_timeline

            args.plot.parent.mkdir(parents=True, exist_ok=True)
            plot_timeline(segments, seq.num_frames, seq.fps, names, args.plot, ground_truth=gt,
                          title=f"{Path(name).name} - {model.skelzoo_config['architecture']}")
            print(f"wrote {args.plot}" + (" (hatched: ground truth)" if gt is not None else ""))
        except ImportError as e:
            print(f"  no timeline picture: {e}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
