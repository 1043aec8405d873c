#!/usr/bin/env python3
"""Localize actions in a video's 2-D keypoints: from a pose estimator's output file to a timeline picture.

You ran a 2-D pose estimator on a video (OpenPose ``--write_json``, MMPose / RTMPose, MediaPipe Pose,
ultralytics YOLO-pose). skelzoo reads its output as it is (``skelzoo.read_skeleton`` detects the format;
``docs/formats_2d.md`` lists the formats and how to export them), converts it to COCO-17 keypoints with
scores, and a 2-D localizer says what happens, from when to when.

Steps (skelzoo's public API):

1. ``skelzoo.read_skeleton(PATH)``: an OpenPose folder of ``*_keypoints.json`` (BODY_25 or COCO-18), an
   MMPose / RTMPose prediction JSON, a MediaPipe landmark CSV / JSON, a YOLO-pose label folder or COCO-17
   JSON -> a ``coco17`` ``SkeletonSequence`` (x, y in pixels or normalised image coordinates, scores in
   ``seq.confidence``); give ``--fps`` when the format does not carry the video's frame rate;
2. ``skelzoo.load_model(NAME)``: by default the bundled 2-D default localizer
   (``stgcn_ssl_ufusion.snipclr_bandai2d``: COCO-17 ST-GCN encoder pretrained with snippet contrast + the
   U-fusion neck, 10 Bandai-Namco actions, trained on the mocap filmed by virtual cameras; offline);
3. ``model.localize(seq)``: the weights' input spec (``coco2d``: centred on the hips, scaled by the torso,
   low-score points dropped; so image size, camera distance and position do not matter), the model, the
   decoder; segments in the recording's frames and seconds.

Without a PATH the script makes its own input: the bundled example recording (the one of ``skelzoo
localize --example``, synthesised by skelzoo) filmed by a virtual Full-HD camera from the front-left, with
detector-like noise, written in ``--demo-format`` (an OpenPose folder by default) under ``--demo-dir``: a
file exactly like the estimator would write, read back through the same path as yours.

Usage::

    python examples/localize_video_keypoints.py                                   # demo: OpenPose folder
    python examples/localize_video_keypoints.py --demo-format yolo --plot yolo.png
    python examples/localize_video_keypoints.py my_video_openpose/ --fps 25 --plot timeline.png
    python examples/localize_video_keypoints.py rtmpose_results.json

Expected runtime: a few seconds on CPU for the demo (720 frames).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import skelzoo
from skelzoo.errors import SkelzooError
from skelzoo.io import SkeletonSequence

DEFAULT_MODEL = "stgcn_ssl_ufusion.snipclr_bandai2d"  # the bundled 2-D default localizer
DEMO_FORMATS = ("openpose", "mmpose", "mediapipe", "yolo", "coco")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", nargs="?", type=Path, default=None,
                   help="pose-estimator output (file or folder); default: write the demo input and use it")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"2-D localizer (default {DEFAULT_MODEL}, bundled)")
    p.add_argument("--format", default=None, help="input format (default: detected)")
    p.add_argument("--fps", type=float, default=None, help="the video's frame rate (formats without one: 30)")
    p.add_argument("--demo-format", choices=DEMO_FORMATS, default="openpose",
                   help="without INPUT: the format the demo input is written in (default openpose)")
    p.add_argument("--demo-dir", type=Path, default=Path("keypoints_demo"),
                   help="without INPUT: where the demo input is written (default keypoints_demo/)")
    p.add_argument("--out", type=Path, default=Path("localization_2d.json"), help="JSON result")
    p.add_argument("--plot", type=Path, default=Path("timeline_2d.png"), help="timeline picture")
    p.add_argument("--no-plot", action="store_true", help="do not draw the timeline")
    return p.parse_args(argv)


def write_demo(fmt: str, folder: Path) -> tuple[Path, list[str]]:
    """The example recording filmed in 2-D, written as ``fmt``; returns the path to read and the labels."""
    from skelzoo.data.synth import example_sequence_2d
    from skelzoo.io import pose2d_writers as w

    seq, labels = example_sequence_2d()
    size = seq.meta["image_size"]
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "openpose":
        path = folder / "openpose"
        w.write_openpose(seq, path, name="example")
    elif fmt == "mmpose":
        path = folder / "example_mmpose.json"
        w.write_mmpose(seq, path)
    elif fmt == "mediapipe":
        path = folder / "example_mediapipe.csv"
        w.write_mediapipe_csv(seq, path, image_size=size)
    elif fmt == "yolo":
        path = folder / "yolo_labels"
        w.write_yolo_pose(seq, path, image_size=size)
    else:
        from skelzoo.io import write_keypoints_json

        path = folder / "example_coco17.json"
        write_keypoints_json(seq, path)
    return path, labels


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
    t0 = time.perf_counter()
    labels: list[str] | None = None
    try:
        path = args.input
        if path is None:
            path, labels = write_demo(args.demo_format, args.demo_dir)
            print(f"[0/3] demo input: the example recording filmed in 2-D, written as {args.demo_format} -> {path}")
        print(f"[1/3] reading {path}")
        seq: SkeletonSequence = skelzoo.read_skeleton(path, format=args.format)
        if args.fps is not None:
            if args.fps <= 0:
                raise ValueError("--fps must be positive")
            seq = seq.replace(fps=float(args.fps))
        missing = float((seq.confidence == 0).mean()) if seq.confidence is not None else 0.0
        print(f"  format {seq.meta.get('format', '?')}: {seq.num_frames} frames at {seq.fps:g} fps "
              f"({seq.duration:.1f} s), {seq.num_persons} person(s), layout {seq.layout}, "
              f"{seq.meta.get('coordinates', 'pixels')} coordinates, {100 * missing:.0f} % missing points")
        print(f"[2/3] loading {args.model}")
        model = skelzoo.load_model(args.model, device="cpu")
        if getattr(model, "task", None) != "localization":
            raise ValueError(f"{args.model!r} is not a localization model")
        print(f"  input spec: {model.input_spec}")
        names = list(model.class_names)
        print("[3/3] localizing")
        segments = model.localize(seq)[0]
    except (OSError, ValueError, KeyError, ImportError, RuntimeError, SkelzooError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_segments(segments, f"predicted segments of {path}:")
    gt = ground_truth_segments(labels, names, seq.fps) if labels is not None else None
    if gt is not None:
        print_segments(gt, "ground truth (the demo's script; actions unknown to the model are background):")
    doc = {"input": str(path), "model": args.model, "class_names": names, "num_frames": seq.num_frames,
           "fps": float(seq.fps), "segments": [s.to_dict() for s in segments]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")
    if not args.no_plot:
        try:
            from skelzoo.viz import plot_timeline
            plot_timeline(segments, seq.num_frames, seq.fps, names, args.plot, ground_truth=gt,
                          title=f"{Path(path).name} ({args.model})")
            print(f"wrote {args.plot}")
        except ImportError as e:
            print(f"  note: no timeline picture ({e}); pip install matplotlib")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
