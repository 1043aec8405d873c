#!/usr/bin/env python3
"""Snippet-contrast (SnipCLR) pretraining of an encoder on your own unlabelled skeleton recordings.

Steps (all through skelzoo's Python API):

1. collect recordings: files, folders or glob patterns of any format ``skelzoo.read_skeleton`` reads
   (NTU ``.skeleton``, PKU-MMD ``.txt``, Kinect v2 CSV, BVH, ``.npy``/``.npz``, JSON keypoints); with no
   input, a set of demo recordings is synthesised (:func:`skelzoo.data.synth.synthesize`) and written as
   ``.npz`` files first, so the demo follows exactly the path of real files;
2. ``skelzoo.data.prepare.prepare_files`` converts them into a *prepared dataset* (NTU-25 layout, 30 fps,
   one person, NTU pre-normalisation; ``.npz`` shards + ``index.json``), the layout every training stage
   reads (``skelzoo data prepare files`` on the command line). An existing prepared directory (e.g. the
   Bandai-Namco benchmark, ``skelzoo data prepare bandai-untrimmed``) can be given with ``--prepared``;
   its labels are not used;
3. ``skelzoo.training.pretrain(PretrainConfig(...))`` trains SnipCLR (SkeletonCLR's MoCo instance
   contrast + the snippet contrast) with a short CPU schedule: quarter-width ST-GCN (``stgcn_ssl``),
   one random window of ``--clip-frames`` frames per recording and epoch;
4. the query encoder is written to ``OUT/run/encoder`` (``config.json`` + ``model.safetensors`` + model
   card): load it with ``skelzoo.load_model("local-dir:OUT/run/encoder")``, extract features with
   ``examples/extract_features.py --encoder local-dir:OUT/run/encoder`` or finetune a localizer with
   ``examples/finetune_own_data.py --encoder local-dir:OUT/run/encoder``.

Usage::

    python examples/pretrain_own_data.py                                   # synthetic demo recordings
    python examples/pretrain_own_data.py 'my_recordings/*.bvh' --out runs/my_pretrain --epochs 50
    python examples/pretrain_own_data.py ../shared/data/ntu-rgbd-samples ../shared/data/kinect-v2-gestures
    python examples/pretrain_own_data.py --prepared data/bandai_untrimmed --max-steps-per-epoch 10

Expected runtime on CPU with the defaults: about 1 minute (48 synthetic recordings of 12 s,
5 epochs of 6 steps of batch 8). Real pretraining needs many more epochs (the paper: 600 on GPUs).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import skelzoo
from skelzoo.data.synth import write_demo_recordings
from skelzoo.errors import SkelzooError
from skelzoo.io import find_recordings

#: file name endings of recordings (label files ``*.labels.txt`` / ``*.labels.json`` are skipped)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="About 1-2 minutes on CPU with the defaults. See examples/README.md.")
    src = p.add_argument_group("data (default: synthesised demo recordings)")
    src.add_argument("recordings", nargs="*", help="skeleton files, folders or quoted glob patterns")
    src.add_argument("--prepared", type=Path, default=None,
                     help="use this prepared directory instead (skelzoo data prepare ...); labels are ignored")
    src.add_argument("--split", default="train", help="split of --prepared to pretrain on (default train)")
    src.add_argument("--format", default=None, help="input format of the recordings (default: detected)")
    src.add_argument("--fps", type=float, default=30.0, help="resample recordings to this rate (default 30)")
    src.add_argument("--demo", type=int, default=48, help="number of synthetic demo recordings (default 48)")
    src.add_argument("--demo-seconds", type=float, default=12.0, help="length of each demo recording (s)")
    m = p.add_argument_group("model and schedule")
    m.add_argument("--method", choices=("snipclr", "skeletonclr"), default="snipclr",
                   help="snipclr = instance + snippet contrast (default); skeletonclr = instance contrast only")
    m.add_argument("--backbone", default="stgcn_ssl",
                   help="registered backbone to pretrain (default stgcn_ssl; the paper uses agcn_loc)")
    m.add_argument("--epochs", type=int, default=5, help="epochs (default 5: a demo; use 50+ for real data)")
    m.add_argument("--batch-size", type=int, default=8, help="clips per step (default 8)")
    m.add_argument("--clip-frames", type=int, default=96, help="window per recording and epoch (default 96)")
    m.add_argument("--num-snippets", type=int, default=None,
                   help="snippets per clip (default: half the encoder's output frames)")
    m.add_argument("--queue-size", type=int, default=512, help="MoCo negative queue length (default 512)")
    m.add_argument("--lr", type=float, default=0.02, help="SGD learning rate (default 0.02)")
    m.add_argument("--max-steps-per-epoch", type=int, default=None, help="cap the steps of every epoch")
    r = p.add_argument_group("run")
    r.add_argument("--out", type=Path, default=Path("runs/pretrain_own"),
                   help="output folder (default runs/pretrain_own): data/, run/, run/encoder/")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    r.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    r.add_argument("--resume", action="store_true", help="continue from OUT/run/last.pt")
    return p.parse_args(argv)


# ------------------------------------------------------------------------------------------- data
def readable(files: Sequence[Path], fmt: str | None) -> list[Path]:
    """The files ``skelzoo.read_skeleton`` can read as 3D skeletons; the others are reported and skipped."""
    keep = []
    for f in files:
        try:
            seq = skelzoo.read_skeleton(f, format=fmt)
        except (ValueError, OSError) as e:  # FormatError is a ValueError
            print(f"  skipping {f}: {str(e).splitlines()[0][:160]}")
            continue
        if seq.num_channels != 3:
            print(f"  skipping {f}: {seq.num_channels} channels per joint (3D x, y, z needed)")
            continue
        keep.append(f)
    return keep


def prepare(args: argparse.Namespace) -> tuple[Path, str]:
    """The prepared directory and split to pretrain on."""
    from skelzoo.data.prepare import PreparedDataset, prepare_files

    if args.prepared is not None:
        if args.recordings:
            raise ValueError("give either recordings or --prepared, not both")
        ds = PreparedDataset(args.prepared)
        print(f"  using {ds!r}, split {args.split!r}: {ds.num_sequences(args.split)} sequences")
        return args.prepared, args.split
    if args.recordings:
        files = find_recordings(args.recordings)
        if not files:
            raise FileNotFoundError(f"no recordings found in {' '.join(args.recordings)}")
        files = readable(files, args.format)
        if not files:
            raise ValueError("none of the given files is a readable 3D skeleton recording")
    else:
        if args.demo < 1:
            raise ValueError("--demo must be >= 1")
        print(f"  no recordings given: synthesising {args.demo} demo recordings of {args.demo_seconds:g} s")
        files = write_demo_recordings(args.out / "demo_recordings", args.demo, seconds=args.demo_seconds,
                                      seed=args.seed, labels=False)
    print(f"  {len(files)} recordings, e.g. {files[0]}")
    out = args.out / "data"
    ds = prepare_files(files, out, format=args.format, fps=args.fps, num_persons=1, split="train",
                       progress=False, overwrite=True)
    print(f"  prepared {out}: {ds.num_sequences('train')} sequences, {ds.num_frames('train')} frames "
          f"(ntu25, {ds.fps:g} fps, NTU pre-normalised)")
    return out, "train"


# ------------------------------------------------------------------------------------------- config
def build_config(args: argparse.Namespace, root: Path, split: str, num_sequences: int) -> Any:
    """A short CPU schedule of SnipCLR pretraining (see ``examples/configs/ablation/pretrain.yaml``)."""
    from skelzoo.training import OptimConfig, PretrainConfig, PretrainDataConfig, PretrainModelConfig, RunConfig

    if args.epochs < 1 or args.batch_size < 1 or args.clip_frames < 8:
        raise ValueError("--epochs and --batch-size must be >= 1, --clip-frames >= 8")
    batch = min(args.batch_size, num_sequences)
    if batch < args.batch_size:
        print(f"  note: only {num_sequences} sequences: batch size lowered to {batch}")
    if batch < 2:
        raise ValueError("contrastive pretraining needs at least 2 recordings")
    snippets = args.num_snippets
    if snippets is None:
        probe = skelzoo.build_model(args.backbone, num_classes=0)
        reduction = int(probe.feature_info[-1]["reduction"])
        snippets = max(1, args.clip_frames // reduction // 2)
    return PretrainConfig(
        run=RunConfig(output_dir=str(args.out / "run"), epochs=args.epochs, batch_size=batch, seed=args.seed,
                      device=args.device, amp=False, threads=args.threads, progress=sys.stderr.isatty(), log_every=0,
                      max_steps_per_epoch=args.max_steps_per_epoch, plot=True),
        data=PretrainDataConfig(kind="prepared", root=str(root), split=split, clip_frames=args.clip_frames,
                                view_frames=args.clip_frames, num_persons=1),
        model=PretrainModelConfig(method=args.method, backbone=args.backbone, queue_size=args.queue_size,
                                  momentum=0.99, relative_tempo=False, mining_epoch=None,
                                  num_snippets=snippets),
        optim=OptimConfig(name="sgd", lr=args.lr, momentum=0.9, weight_decay=1e-4,
                          warmup_epochs=min(2, args.epochs), warmup_divisor=min(2, args.epochs)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  %(message)s")
    t0 = time.perf_counter()
    try:
        from skelzoo.data.prepare import PreparedDataset
        from skelzoo.training import config_to_dict, pretrain

        print("[1/3] preparing the recordings")
        root, split = prepare(args)
        n = PreparedDataset(root).num_sequences(split)
        cfg = build_config(args, root, split, n)
        print(f"[2/3] pretraining {args.method} / {args.backbone}: {cfg.run.epochs} epochs, batch "
              f"{cfg.run.batch_size}, {cfg.data.clip_frames}-frame clips, {cfg.model.num_snippets} snippets "
              f"-> {cfg.run.output_dir}")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "pretrain_config.json").write_text(json.dumps(config_to_dict(cfg), indent=2) + "\n")
        summary = pretrain(cfg, resume=args.resume)
        print(f"  loss {summary.get('loss_first_epoch', float('nan')):.4f} (epoch 1) -> "
              f"{summary.get('loss_last_epoch', float('nan')):.4f} (epoch {summary['epochs_done']}); the MoCo "
              f"loss grows while the negative queue fills, so early values are not comparable")

        print("[3/3] checking the exported encoder")
        enc_dir = Path(summary["encoder"])
        enc = skelzoo.load_model(f"local-dir:{enc_dir}")
        print(f"  {enc_dir}: {enc.skelzoo_config['architecture']}, "
              f"{sum(p.numel() for p in enc.parameters()):,} parameters, feature dim {enc.num_features}")
    except (OSError, ValueError, KeyError, ImportError, RuntimeError, SkelzooError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    (args.out / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if k != "config"},
                                                      indent=2, default=str) + "\n")
    print(f"done in {time.perf_counter() - t0:.0f} s. Next:\n"
          f"  python examples/extract_features.py --encoder local-dir:{enc_dir}\n"
          f"  python examples/finetune_own_data.py --encoder local-dir:{enc_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
