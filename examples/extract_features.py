#!/usr/bin/env python3
"""Extract per-frame features of a skeleton recording with a pretrained encoder.

The path from a file to features, step by step with skelzoo's public API:

1. ``skelzoo.load_model(NAME)`` loads an encoder (a registry ``arch.tag``, ``local-dir:FOLDER``,
   ``hf-hub:ORG/REPO``) - e.g. the SnipCLR-pretrained AGCN-10 ``agcn_loc.snipclr_bandai_w16_e40`` or the
   ``encoder/`` folder written by ``examples/pretrain_own_data.py``;
2. ``skelzoo.read_skeleton(FILE)`` reads any supported format (NTU ``.skeleton``, PKU-MMD ``.txt``,
   Kinect v2 CSV, BVH, ``.npy``/``.npz``, JSON keypoints) into a ``SkeletonSequence``
   (``data`` ``(T, M, V, C)``); without a file the bundled example recording is used (the one
   ``skelzoo localize --example`` reads, synthesised by :mod:`skelzoo.data.synth`);
3. ``x, rate = skelzoo.prepare(seq, model, model_fps=...)`` (the data path of ``skelzoo extract``) applies
   what the weights were trained with (``model.input_spec``): resamples a recording at another frame rate to
   the encoder's (its registered ``fps``, else 30 fps, the rate of skelzoo's training data; ``--model-fps``,
   0 = never resample; irregular frame times are interpolated on time), converts the layout to the
   encoder's, fills missing joints, keeps the encoder's number of persons, applies the NTU
   pre-normalisation and returns the model tensor ``(N, C, T, V, M)`` and the ``RateChange`` that maps
   results back to the recording's frames (``skelzoo.extract_features(model, seq)`` does steps 3-4 in one);
4. ``model.forward_features(x)`` gives the last feature map ``(N, D, T', V, M)`` (localizers:
   ``model.frame_features(x)`` gives ``(N, T, D)`` directly); averaging joints and the persons present and
   interpolating ``T'`` back to ``T`` gives one ``D``-vector per model frame, and
   ``RateChange.features_to_recording`` one per frame of the recording. ``--stages`` also stores
   intermediate stages (``model.forward_intermediates``).

Output: an ``.npz`` with ``features`` ``(T, D)`` float32 (``T`` = the recording's frames), ``times_s``
``(T,)`` (seconds of each frame), ``fps`` (the recording's), ``model_fps`` (the rate the encoder ran at)
and, with ``--stages``, ``stage<i>`` ``(T, C_i)`` arrays; the shapes are printed.

Usage::

    python examples/extract_features.py                                   # bundled example recording
    python examples/extract_features.py ../shared/data/ntu-rgbd-samples/S001C001P001R001A001.skeleton \\
        --out a001_features.npz --stages 3 6
    python examples/extract_features.py recording.bvh --encoder local-dir:runs/my_pretrain/encoder

Expected runtime: a few seconds on one CPU core (ST-GCN encoder, ~25 s recording).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import skelzoo
from skelzoo.errors import SkelzooError
from skelzoo.io import SkeletonSequence

DEFAULT_ENCODER = "agcn_loc.snipclr_bandai_w16_e40"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Runs in a few seconds on CPU. See examples/README.md.")
    p.add_argument("input", nargs="?", type=Path, default=None,
                   help="skeleton file (.skeleton, .txt, .csv, .bvh, .npy/.npz, .json); "
                        "default: the bundled example recording")
    p.add_argument("--encoder", default=DEFAULT_ENCODER,
                   help=f"encoder: registry arch.tag, local-dir:FOLDER or hf-hub:ORG/REPO (default {DEFAULT_ENCODER})")
    p.add_argument("--format", default=None, help="input format (default: detected from the file)")
    p.add_argument("--fps", type=float, default=None, help="override the recording's frame rate")
    p.add_argument("--model-fps", type=float, default=None,
                   help="resample the recording to this rate first (default: the encoder's registered rate, "
                        "else 30 fps, the rate of skelzoo's training data); 0 = never resample")
    p.add_argument("--preprocess", choices=("auto", "ntu", "none"), default="auto",
                   help="input normalisation: auto = what the encoder declares, NTU pre-normalisation when it "
                        "declares nothing (every skelzoo training path pre-normalises); ntu; none")
    p.add_argument("--stages", type=int, nargs="*", default=[],
                   help="also store per-frame features of these backbone stages (forward_intermediates)")
    p.add_argument("--out", type=Path, default=Path("features.npz"), help="output .npz (default features.npz)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return p.parse_args(argv)


def load_encoder(name: str, device: str) -> nn.Module:
    """Load an encoder by name; a bare registered ``arch`` gets its default pretrained weights."""
    if name.startswith(("local-dir:", "hf-hub:")) or "." in name:
        return skelzoo.load_model(name, device=device)
    return skelzoo.load_model(name, pretrained=True, device=device)


def read_input(path: Path | None, fmt: str | None, fps: float | None) -> tuple[str, SkeletonSequence]:
    """The recording to encode: a file, or the bundled example."""
    if path is None:
        from skelzoo.data.synth import example_sequence

        seq, _ = example_sequence()
        name = "bundled example (skelzoo.data.synth.example_sequence)"
    else:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        seq = skelzoo.read_skeleton(path, format=fmt)
        name = str(path)
    if fps is not None:
        if fps <= 0:
            raise ValueError("--fps must be positive")
        seq.fps = float(fps)
    return name, seq


def resolve_preprocess(model: nn.Module, choice: str) -> str:
    """``"ntu"`` or ``""``: the normalisation to apply before the encoder (see ``--preprocess``)."""
    if choice != "auto":
        return "ntu" if choice == "ntu" else ""
    declared = str(getattr(model, "preprocess", "") or "")
    if declared == "ntu":
        return "ntu"
    if declared in ("", "none"):
        print("  note: the encoder declares no input preprocessing; applying the NTU pre-normalisation "
              "(skelzoo's training data is pre-normalised). Use --preprocess none to skip it.")
    else:
        print(f"  note: the encoder declares its preprocessing as text: {declared[:120]}...\n"
              f"        applying skelzoo's NTU pre-normalisation (closest available; --preprocess none skips it)")
    return "ntu"


def per_frame(feature_map: torch.Tensor, num_frames: int, persons: torch.Tensor) -> torch.Tensor:
    """``(N, D, T', V, M)`` -> ``(N, T, D)``: mean over joints and the ``persons`` present (bool ``(M,)``;
    zero-padded persons are left out), linear interpolation to ``T``."""
    f = feature_map[..., persons].mean(dim=(3, 4))  # (N, D, T')
    if f.shape[-1] != num_frames:
        f = F.interpolate(f, size=num_frames, mode="linear", align_corners=False)
    return f.transpose(1, 2)


@torch.inference_mode()
def extract(model: nn.Module, x: torch.Tensor, stages: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-frame features ``(T, D)`` of a ``(1, C, T, V, M)`` input (plus the requested stages)."""
    t = x.shape[2]
    # skelzoo.prepare pads to the encoder's num_person with all-zero persons: keep them out of the average
    persons = x[0].abs().sum(dim=(0, 1, 2)) > 0
    if not persons.any():
        raise ValueError("the recording holds no skeleton (all joints are zero)")
    out: dict[str, np.ndarray] = {}
    if hasattr(model, "frame_features"):  # a localizer: the fusion neck's per-frame embedding
        out["features"] = model.frame_features(x)[0].float().cpu().numpy()
        backbone = model.backbone
    else:
        fmap = model.forward_features(x)
        print(f"  forward_features: {tuple(fmap.shape)}  (N, D, T', V, M)")
        out["features"] = per_frame(fmap, t, persons)[0].float().cpu().numpy()
        backbone = model
    if stages:
        n = len(backbone.feature_info)
        bad = [i for i in stages if not 0 <= i < n]
        if bad:
            raise ValueError(f"--stages {bad}: the encoder has stages 0..{n - 1}")
        for i, fm in zip(stages, backbone.forward_intermediates(x, list(stages))):
            print(f"  stage {i}: {tuple(fm.shape)}")
            out[f"stage{i}"] = per_frame(fm, t, persons)[0].float().cpu().numpy()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        print(f"[1/4] loading encoder {args.encoder}")
        model = load_encoder(args.encoder, args.device)
        cfg = getattr(model, "skelzoo_config", {})
        print(f"  {cfg.get('architecture', type(model).__name__)} (tag {cfg.get('tag')}), layout "
              f"{getattr(model, 'layout', '?')}, {sum(p.numel() for p in model.parameters()):,} parameters")

        print("[2/4] reading the recording")
        name, seq = read_input(args.input, args.format, args.fps)
        print(f"  {name}: {seq.num_frames} frames at {seq.fps:g} fps, {seq.num_persons} person(s), "
              f"{seq.num_joints} joints ({seq.layout}), C={seq.num_channels}; raw tensor "
              f"{tuple(seq.to_tensor().shape)} (N, C, T, V, M)")

        print("[3/4] preparing the model input")
        model.preprocess = resolve_preprocess(model, args.preprocess)
        model_fps = "auto" if args.model_fps is None else (args.model_fps or None)
        x, frames = skelzoo.prepare(seq, model, model_fps=model_fps)
        x = x.to(args.device)
        if frames.resampled:
            print(f"  resampled {seq.fps:g} -> {frames.model_fps:g} fps for the encoder: {x.shape[2]} frames "
                  f"(--model-fps 0 keeps the rate); features come back one per recording frame")
        print(f"  model input: {tuple(x.shape)} (N, C, T, V, M) at {frames.model_fps:g} fps, preprocessing "
              f"{model.preprocess or 'none'!r}")

        print("[4/4] extracting features")
        arrays = {k: frames.features_to_recording(v) for k, v in extract(model, x, args.stages).items()}
    except (OSError, ValueError, KeyError, ImportError, RuntimeError, SkelzooError) as e:
        print(f"error: {e}", file=sys.stderr)
        if args.encoder == DEFAULT_ENCODER and DEFAULT_ENCODER in str(e):
            print("hint: pretrain an encoder with examples/pretrain_own_data.py and pass --encoder "
                  "local-dir:OUT/run/encoder", file=sys.stderr)
        return 2
    feats = arrays["features"]
    times = np.arange(feats.shape[0], dtype=np.float64) / seq.fps
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays, times_s=times, fps=np.float64(seq.fps),
                        model_fps=np.float64(frames.model_fps), encoder=np.array(args.encoder), input=np.array(name))
    for key, arr in arrays.items():
        print(f"  {key}: {arr.shape} {arr.dtype}  (mean {arr.mean():+.4f}, std {arr.std():.4f})")
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
