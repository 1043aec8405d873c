#!/usr/bin/env python3
"""Finetune a U-fusion action localizer on your own labelled skeleton recordings, then evaluate it.

Steps (all through skelzoo's Python API):

1. **Labels.** Either one JSON file (``--labels``) with segment lists, in frames at ``--fps`` (30), end
   exclusive, uncovered frames = background::

       {"classes": ["walk", "wave", ...],
        "sequences": {"rec01.bvh": [["walk", 0, 90], ["wave", 120, 200]], ...}}

   or, next to every recording ``rec01.bvh``, a segment label file ``rec01.segments.txt`` with one
   ``class start end`` per line in the recording's own frame ids (end inclusive) or seconds (``1.5s 4.2s``)
   (:mod:`skelzoo.io.segment_labels`), or a per-frame label file ``rec01.labels.txt`` with one class
   name per line, one line per frame of the recording (at its own frame rate); ``background`` (or any name
   in ``--background-names``) marks frames without an action. Label files are turned into the segment
   JSON above (``OUT/labels.json``). Labels are checked, never silently fixed: overlapping segments, an end
   before its start, frames outside the recording, ``NaN`` or unknown values are errors naming the file and
   line (JSON: the segment).
2. **Prepared dataset.** ``skelzoo.data.prepare.prepare_files`` converts the recordings to the prepared
   layout the training stages read (NTU-25 joints, 30 fps, one person, NTU pre-normalisation, ``.npz``
   shards + ``index.json``; ``skelzoo data prepare files`` on the command line), once for the training
   and once for the test recordings; the two are merged into one directory with splits ``train`` and
   ``test`` (``OUT/data``), reused by the next run when the recordings, labels and settings are unchanged
   (``--no-cache`` rebuilds it). An already prepared benchmark can be used instead with ``--prepared`` (e.g.
   ``skelzoo data prepare bandai-untrimmed --data ../shared/data --out data/bandai_untrimmed``, ~2 min).
   With no input at all, demo recordings are synthesised (:mod:`skelzoo.data.synth`) and written as
   ``.npz`` + ``.labels.txt`` files first, so the demo follows exactly the path of real files.
3. **Finetuning.** ``skelzoo.training.finetune(FinetuneConfig(...))``: the localizer ``<encoder arch>_ufusion``
   (SnipCLR's U-shaped multiscale fusion neck + frame head) starts from the pretrained encoder
   (``--encoder``: a registry ``arch.tag``, ``local-dir:FOLDER``, a pretraining output folder, ``none`` for
   random init), frame-wise cross-entropy, Adam, random ``--max-frames`` crops. The last epoch is exported to
   ``OUT/run/model`` (``skelzoo.load_model("local-dir:OUT/run/model")``). ``--protocol``: ``finetune`` (all
   weights train), ``linear`` (frozen encoder; the U-fusion neck and the frame head train: the paper's
   "linear" protocol), ``linear-probe`` (a true linear probe: frozen encoder, only a linear frame classifier
   on its last stage, the ``<encoder>_simple`` localizer) or ``semi`` (20 % of the labels).
4. **Evaluation.** The exported model is reloaded and scored on the test split with
   ``skelzoo.training.evaluate_localizer``: segment mAP at tIoU 0.1-0.5 (``clean`` and the reference code's
   ``line`` protocol), frame accuracy with the foreground-frame accuracy and the per-class frame recall beside
   it (frame accuracy alone is dominated by background frames), edit score and F1@{10,25,50}
   (``OUT/metrics.json``); the segments of one test recording are printed next to its ground truth.

Usage::

    python examples/finetune_own_data.py                          # synthetic demo recordings
    python examples/finetune_own_data.py 'my_data/*.bvh' --encoder local-dir:runs/pretrain_own/run/encoder
    python examples/finetune_own_data.py my_data/ --labels my_labels.json --test-fraction 0.2 --epochs 20
    python examples/finetune_own_data.py --prepared data/bandai_untrimmed --max-steps-per-epoch 20

Expected runtime on CPU with the defaults: 1-2 minutes (synthetic demo: 30 + 10 recordings of 12 s,
20 epochs of 3 steps). The prepared Bandai benchmark (372 training sequences, 46 steps per epoch) needs
``--epochs 3 --max-steps-per-epoch 20`` or so to stay within a few minutes, evaluation on its 125 test
sequences included.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

import skelzoo
from skelzoo.data.synth import write_demo_recordings
from skelzoo.errors import SkelzooError
from skelzoo.io import find_recordings

DEFAULT_ENCODER = "agcn_loc.snipclr_bandai_w16_e40"
LABEL_SUFFIX = ".labels.txt"
SEGMENT_SUFFIX = ".segments.txt"
PROTOCOLS = {"finetune": "all weights train", "linear": "frozen encoder; U-fusion neck + frame head train",
             "linear-probe": "frozen encoder; only a linear frame classifier on its last stage trains",
             "semi": "all weights train on 20% of the labelled recordings"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="1-3 minutes on CPU with the defaults. See examples/README.md.")
    d = p.add_argument_group("data (default: synthesised demo recordings)")
    d.add_argument("recordings", nargs="*", help="labelled skeleton files, folders or quoted glob patterns")
    d.add_argument("--labels", type=Path, default=None,
                   help="segment-list JSON (see above); default: per-frame REC.labels.txt files")
    d.add_argument("--test-recordings", nargs="*", default=None,
                   help="recordings of the test split (default: a seeded --test-fraction of the recordings)")
    d.add_argument("--test-fraction", type=float, default=0.25, help="share of recordings held out (default 0.25)")
    d.add_argument("--background-names", default="background,none,-",
                   help="per-frame label names meaning 'no action' (comma-separated; default background,none,-)")
    d.add_argument("--format", default=None, help="input format of the recordings (default: detected)")
    d.add_argument("--fps", type=float, default=30.0, help="training frame rate (default 30)")
    d.add_argument("--no-cache", action="store_true",
                   help="prepare the recordings again even if OUT/data was prepared from the same inputs")
    d.add_argument("--prepared", type=Path, default=None,
                   help="use this prepared directory (with train and test splits) instead of recordings")
    d.add_argument("--train-split", default="train")
    d.add_argument("--eval-split", default="test")
    d.add_argument("--demo", type=int, default=40, help="synthetic demo recordings (default 40, 1/5 test)")
    d.add_argument("--demo-seconds", type=float, default=12.0, help="length of each demo recording (s)")
    m = p.add_argument_group("model and schedule")
    m.add_argument("--encoder", default=DEFAULT_ENCODER,
                   help=f"pretrained encoder: arch.tag, local-dir:FOLDER, a pretraining output folder (e.g. OUT of "
                        f"pretrain_own_data.py), a .pt checkpoint (with --arch), or none (default {DEFAULT_ENCODER})")
    m.add_argument("--arch", default=None, help="localizer architecture (default: <encoder arch>_ufusion)")
    m.add_argument("--protocol", choices=tuple(PROTOCOLS), default="finetune",
                   help="; ".join(f"{k} = {v}" for k, v in PROTOCOLS.items()).replace("%", "%%")
                   + " (default finetune)")
    m.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    m.add_argument("--batch-size", type=int, default=8, help="sequences per step (default 8)")
    m.add_argument("--max-frames", type=int, default=128, help="random training crop in frames (default 128)")
    m.add_argument("--eval-max-frames", type=int, default=None, help="cut test sequences (default: whole)")
    m.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    m.add_argument("--max-steps-per-epoch", type=int, default=None, help="cap the steps of every epoch")
    r = p.add_argument_group("run")
    r.add_argument("--out", type=Path, default=Path("runs/finetune_own"),
                   help="output folder (default runs/finetune_own): data/, run/model/, metrics.json")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    r.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return p.parse_args(argv)


# ------------------------------------------------------------------------------------------- recordings
def label_file(recording: Path) -> Path:
    """``rec01.bvh`` -> ``rec01.labels.txt`` (same folder)."""
    return recording.with_name(recording.name[: -len(recording.suffix)] + LABEL_SUFFIX if recording.suffix
                               else recording.name + LABEL_SUFFIX)


def segment_file(recording: Path) -> Path:
    """``rec01.bvh`` -> ``rec01.segments.txt`` (same folder)."""
    return recording.with_name(recording.name[: -len(recording.suffix)] + SEGMENT_SUFFIX if recording.suffix
                               else recording.name + SEGMENT_SUFFIX)


def frame_labels_to_spec(files: Sequence[Path], *, fps: float, fmt: str | None,
                         background: set[str]) -> dict[str, Any]:
    """Label files (``REC.segments.txt``, else per-frame ``REC.labels.txt``) -> ``{"classes": [...], "sequences":
    {file name: [[class, start, end]]}}`` with frames converted to ``fps`` (what
    :func:`skelzoo.data.prepare.prepare_files` reads). Segment files are validated line by line."""
    from skelzoo.data.timing import frame_times
    from skelzoo.io.segment_labels import check_against_recording, read_segment_labels, segments_to_frame_labels

    runs: dict[str, list[tuple[str, int, int]]] = {}
    names: set[str] = set()
    for f in files:
        sf, lf = segment_file(f), label_file(f)
        seq = skelzoo.read_skeleton(f, format=fmt)
        if sf.is_file():
            segs = read_segment_labels(sf)
            ids = seq.meta.get("frame_ids")
            times = frame_times(seq)
            duration = float(times[-1]) + 1.0 / seq.fps if times is not None else seq.duration
            check_against_recording(segs, path=sf, frame_ids=ids, num_frames=seq.num_frames, duration=duration)
            classes = sorted({s.name for s in segs})
            per_frame = segments_to_frame_labels(segs, classes, num_frames=seq.num_frames, frame_ids=ids,
                                                 times=times, fps=seq.fps)
            labels = [classes[i] if i < len(classes) else "" for i in per_frame]
        elif lf.is_file():
            labels = [line.strip() for line in lf.read_text(encoding="utf-8").splitlines()]
            while labels and labels[-1] == "":
                labels.pop()
            if len(labels) != seq.num_frames:
                raise ValueError(f"{lf}: {len(labels)} labels for {seq.num_frames} frames of {f.name}")
        else:
            raise FileNotFoundError(f"{f}: no labels (expected {sf} with 'class start end' lines, {lf} with one "
                                    f"class name per frame, or pass --labels)")
        times = frame_times(seq)
        tsec = times if times is not None else np.arange(seq.num_frames) / seq.fps
        segs_out = []
        start = 0
        for i in range(1, len(labels) + 1):
            if i == len(labels) or labels[i] != labels[start]:
                name = labels[start]
                if name and name not in background:
                    end_s = float(tsec[i]) if i < len(labels) else float(tsec[-1]) + 1.0 / seq.fps
                    segs_out.append((name, int(round(float(tsec[start]) * fps)), int(round(end_s * fps))))
                    names.add(name)
                start = i
        runs[f.name] = segs_out
    if not names:
        raise ValueError("the label files hold no action (every frame is background)")
    classes = sorted(names)
    return {"classes": classes, "sequences": {k: [list(s) for s in v] for k, v in runs.items()}}


def check_spec(spec_path: Path, files: Sequence[Path]) -> list[str]:
    """Class names of a segment-list JSON; warns about recordings that it does not mention."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or "classes" not in spec or "sequences" not in spec:
        raise ValueError(f"{spec_path}: expected "
                         f"{{\"classes\": [...], \"sequences\": {{file: [[class, start, end]]}}}}")
    seqs = spec["sequences"]
    missing = [f.name for f in files if f.name not in seqs and f.stem not in seqs]
    if missing:
        print(f"  warning: {len(missing)} recording(s) not in {spec_path} (all background): {', '.join(missing[:5])}")
    return [str(c) for c in spec["classes"]]


def merge_splits(parts: dict[str, Any], out: Path) -> Any:
    """One prepared directory holding the split of every part (``{split: PreparedDataset}``)."""
    from skelzoo.data.prepare import SequenceRecord, plan_shards, write_prepared

    plan = []
    for split, ds in parts.items():
        ids = ds.ids(split)
        plan += plan_shards(split, ids, list(range(len(ids))))

    def produce(shard: Any) -> list[SequenceRecord]:
        ds = parts[shard.split]
        recs = []
        for i, sid in zip(shard.task, shard.ids):
            data, labels = ds.get(shard.split, i)
            recs.append(SequenceRecord(sid, np.asarray(data), np.asarray(labels), ds.meta(shard.split, i)))
        return recs

    first = next(iter(parts.values())).index
    info = {k: first[k] for k in ("name", "layout", "fps", "class_names", "background_index", "labels",
                                  "preprocessing", "params")}
    info["source"] = {split: ds.index.get("source") for split, ds in parts.items()}
    return write_prepared(out, plan, produce, info=info, progress=False, overwrite=True)


def prepare(args: argparse.Namespace) -> tuple[Path, str, str]:
    """``(prepared directory, train split, eval split)``."""
    from skelzoo.data.prepare import PreparedDataset, prepare_files

    if args.prepared is not None:
        if args.recordings:
            raise ValueError("give either recordings or --prepared, not both")
        ds = PreparedDataset(args.prepared)
        for s in (args.train_split, args.eval_split):
            ds.num_sequences(s)  # KeyError naming the splits when absent
        if not ds.class_names:
            raise ValueError(f"{args.prepared} has no frame labels (class_names is empty)")
        print(f"  using {ds!r}; classes: {', '.join(ds.class_names)}")
        return args.prepared, args.train_split, args.eval_split
    if args.recordings:
        files = find_recordings(args.recordings)
        test = find_recordings(args.test_recordings) if args.test_recordings else None
    else:
        if args.demo < 2:
            raise ValueError("--demo must be >= 2")
        print(f"  no recordings given: synthesising {args.demo} labelled demo recordings of {args.demo_seconds:g} s "
              f"(.npz + .labels.txt)")
        files = write_demo_recordings(args.out / "demo_recordings", args.demo, seconds=args.demo_seconds,
                                      seed=args.seed, labels=True)
        test = None
    if not files:
        raise FileNotFoundError("no recordings found")
    if test is None:
        if not 0 < args.test_fraction < 1:
            raise ValueError("--test-fraction must be between 0 and 1")
        if len(files) < 2:
            raise ValueError("need at least 2 recordings (one to train on, one to test on)")
        order = list(files)
        random.Random(args.seed).shuffle(order)
        k = min(len(order) - 1, max(1, round(args.test_fraction * len(order))))
        test, train = sorted(order[:k]), sorted(order[k:])
    else:
        train = [f for f in files if f not in test]
    if not train or not test:
        raise ValueError("the train and the test split both need recordings")
    all_files = list(train) + list(test)
    if args.labels is not None:
        labels = args.labels
        classes = check_spec(labels, all_files)
    else:
        background = {s.strip() for s in args.background_names.split(",") if s.strip()}
        spec = frame_labels_to_spec(all_files, fps=args.fps, fmt=args.format, background=background)
        args.out.mkdir(parents=True, exist_ok=True)
        labels = args.out / "labels.json"
        labels.write_text(json.dumps(spec, indent=1) + "\n")
        classes = spec["classes"]
        print(f"  per-frame label files -> segment lists {labels}")
    print(f"  {len(train)} training and {len(test)} test recordings; {len(classes)} classes: {', '.join(classes)}")
    key = cache_key(train, test, labels, args)
    stamp = args.out / "data" / CACHE_STAMP
    if not args.no_cache and stamp.is_file() and stamp.read_text().strip() == key:
        merged = PreparedDataset(args.out / "data")
        print(f"  reusing {merged.root} (prepared from the same recordings, labels and settings; --no-cache "
              f"prepares again)")
        return merged.root, "train", "test"
    parts = {}
    for split, group in (("train", train), ("test", test)):
        parts[split] = prepare_files(group, args.out / "data_parts" / split, labels=labels, format=args.format,
                                     fps=args.fps, num_persons=1, split=split, progress=True, overwrite=True)
    merged = merge_splits(parts, args.out / "data")
    stamp.write_text(key + "\n")
    print(f"  prepared {merged.root}: train {merged.num_sequences('train')} sequences / "
          f"{merged.num_frames('train')} frames, test {merged.num_sequences('test')} / {merged.num_frames('test')}")
    return merged.root, "train", "test"


CACHE_STAMP = "prepared_from.sha256"


def cache_key(train: Sequence[Path], test: Sequence[Path], labels: Path, args: argparse.Namespace) -> str:
    """Fingerprint of what the prepared data is made of: the recordings (path and content) of both splits, the
    labels' content and the preparation settings."""
    import hashlib

    def files(group: Sequence[Path]) -> list[Any]:
        return [[str(Path(f).resolve()), hashlib.sha256(Path(f).read_bytes()).hexdigest()] for f in group]

    doc = {"train": files(train), "test": files(test), "labels": hashlib.sha256(Path(labels).read_bytes()).hexdigest(),
           "fps": args.fps, "format": args.format, "skelzoo": skelzoo.__version__}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------------------- model
def resolve_encoder(encoder: str) -> str:
    """A loadable name for ``--encoder``: pretraining output folders (``OUT`` of
    ``examples/pretrain_own_data.py`` or its ``run/``) become ``local-dir:.../encoder``."""
    path = Path(encoder[len("local-dir:"):] if encoder.startswith("local-dir:") else encoder).expanduser()
    if path.is_dir():
        for sub in ("", "encoder", "run/encoder"):
            if (path / sub / "config.json").is_file():
                return f"local-dir:{path / sub}"
        raise FileNotFoundError(f"{path}: no encoder folder (config.json + model.safetensors) in it, "
                                f"in {path / 'encoder'} or in {path / 'run' / 'encoder'}")
    return encoder


def localizer_args(encoder: str | None, arch: str | None, protocol: str = "finetune") -> tuple[str, dict[str, Any]]:
    """Localizer architecture and builder arguments that fit the encoder (same backbone and arguments):
    ``<encoder arch>_ufusion``, or ``<encoder arch>_simple`` (a linear frame classifier) for ``linear-probe``."""
    suffix = "_simple" if protocol == "linear-probe" else "_ufusion"
    if arch and protocol == "linear-probe" and not arch.endswith("_simple"):
        raise ValueError(f"--protocol linear-probe trains a linear frame classifier only: --arch must be a "
                         f"*_simple localizer, got {arch!r}")
    if encoder is None:
        print("  none: the localizer starts from random weights")
        if protocol in ("linear", "linear-probe"):
            print(f"  warning: --encoder none with --protocol {protocol} freezes a RANDOM encoder: only the "
                  f"{'neck and frame head' if protocol == 'linear' else 'linear frame classifier'} learn, on "
                  f"random features (a baseline, not a measure of any pretraining)", file=sys.stderr)
        return arch or f"stgcn_ssl{suffix}", {}
    if encoder.endswith((".pt", ".pth")) and Path(encoder).is_file():  # a training checkpoint: no config
        if not arch:
            raise ValueError(f"{encoder}: a checkpoint file; name the localizer with --arch (e.g. stgcn_ssl_ufusion)")
        return arch, {}
    if encoder.startswith(("local-dir:", "hf-hub:")) or "." in encoder:
        enc = skelzoo.load_model(encoder)
    else:  # a bare registered architecture: its default pretrained weights
        enc = skelzoo.load_model(encoder, pretrained=True)
    if getattr(enc, "task", None) == "localization" or hasattr(enc, "frame_features"):
        raise ValueError(f"{encoder!r} is a localizer; --encoder needs a backbone encoder")
    cfg = enc.skelzoo_config
    margs = dict(cfg.get("model_args") or {})
    args: dict[str, Any] = {}
    for key in ("in_channels", "layout"):
        if key in margs:
            args[key] = margs.pop(key)
    for key in ("num_classes", "num_person"):
        margs.pop(key, None)
    if margs:
        args["backbone_args"] = margs
    print(f"  encoder {encoder}: {cfg['architecture']}, {sum(p.numel() for p in enc.parameters()):,} parameters")
    return arch or f"{cfg['architecture']}{suffix}", args


def build_config(args: argparse.Namespace, root: Path, train_split: str, eval_split: str, arch: str,
                 model_args: dict[str, Any], encoder: str | None, num_train: int) -> Any:
    """A short CPU finetuning schedule (see ``examples/configs/ablation/finetune.yaml``)."""
    from skelzoo.training import (
        EvalConfig,
        FinetuneConfig,
        FinetuneDataConfig,
        FinetuneModelConfig,
        OptimConfig,
        RunConfig,
    )

    if args.epochs < 1 or args.batch_size < 1 or args.max_frames < 16:
        raise ValueError("--epochs and --batch-size must be >= 1, --max-frames >= 16")
    usable = num_train if args.protocol != "semi" else max(1, int(0.2 * num_train))
    batch = min(args.batch_size, usable)
    if batch < args.batch_size:
        print(f"  note: {usable} training sequences: batch size lowered to {batch}")
    return FinetuneConfig(
        protocol="linear" if args.protocol == "linear-probe" else args.protocol,  # (+ a *_simple localizer)
        run=RunConfig(output_dir=str(args.out / "run"), epochs=args.epochs, batch_size=batch, eval_batch_size=4,
                      seed=args.seed, device=args.device, amp=False, threads=args.threads,
                      progress=sys.stderr.isatty(), max_steps_per_epoch=args.max_steps_per_epoch, plot=True),
        data=FinetuneDataConfig(kind="prepared", root=str(root), train_split=train_split, eval_split=eval_split,
                                max_frames=args.max_frames, eval_max_frames=args.eval_max_frames, num_persons=1),
        model=FinetuneModelConfig(arch=arch, model_args=model_args, pretrained=encoder),
        optim=OptimConfig(name="adam", lr=args.lr, weight_decay=1e-4, warmup_epochs=0,
                          steps=(max(1, args.epochs - max(1, args.epochs // 4)),), gamma=0.1),
        # scored once after training, on the exported model (step 4), to keep the run short
        eval=EvalConfig(enabled=False),
    )


# ------------------------------------------------------------------------------------------- evaluation
def evaluate(model: nn.Module, root: Path, split: str, max_frames: int | None,
             device: torch.device) -> dict[str, float]:
    """Segment mAP and segmentation scores of ``model`` on a prepared split."""
    from torch.utils.data import DataLoader

    from skelzoo.data.collate import collate_untrimmed
    from skelzoo.data.datasets import UntrimmedDataset
    from skelzoo.training import evaluate_localizer

    test = UntrimmedDataset(root, split, max_len=max_frames, num_persons=1)
    loader = DataLoader(test, batch_size=4, shuffle=False, collate_fn=collate_untrimmed)
    return evaluate_localizer(model, loader, device=device, num_classes=int(model.num_classes))


def show_example(model: nn.Module, root: Path, split: str, device: torch.device) -> None:
    """Predicted vs ground-truth segments of the first test sequence."""
    from skelzoo.data.datasets import UntrimmedDataset
    from skelzoo.localization.segments import segments_from_arrays

    ds = UntrimmedDataset(root, split, num_persons=1)
    x, labels = ds[0]
    fps = ds.prepared.fps
    names = list(model.class_names)
    # prepared sequences are already NTU pre-normalised: feed the tensor as is
    pred = model.localize(x[None].to(device), fps=fps, method="argmax", smoothing=5, min_duration=8)[0]
    lab = labels.numpy()
    change = np.flatnonzero(np.diff(lab)) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(lab)]
    keep = (lab[starts] >= 0) & (lab[starts] < len(names))
    gt = segments_from_arrays(lab[starts][keep], starts[keep], ends[keep], np.ones(keep.sum()), fps=fps,
                              class_names=names)
    print(f"  test sequence {ds.ids[0]} ({len(lab)} frames):")
    print(f"    {'ground truth':<44} | predicted (argmax decoder)")
    for i in range(max(len(gt), len(pred))):
        g = f"{gt[i].name:<22} {gt[i].start:>5}-{gt[i].end:<5} {gt[i].start_s:6.2f}s" if i < len(gt) else ""
        q = (f"{pred[i].name:<22} {pred[i].start:>5}-{pred[i].end:<5} {pred[i].start_s:6.2f}s  "
             f"score {pred[i].score:.2f}") if i < len(pred) else ""
        print(f"    {g:<44} | {q}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  %(message)s")
    t0 = time.perf_counter()
    try:
        from skelzoo.data.prepare import PreparedDataset
        from skelzoo.training import config_to_dict, finetune

        print("[1/4] loading the pretrained encoder")
        encoder = None if args.encoder.lower() in ("none", "scratch", "") else resolve_encoder(args.encoder)
        arch, model_args = localizer_args(encoder, args.arch, args.protocol)

        print("[2/4] preparing the labelled recordings")
        root, train_split, eval_split = prepare(args)
        num_train = PreparedDataset(root).num_sequences(train_split)
        cfg = build_config(args, root, train_split, eval_split, arch, model_args, encoder, num_train)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "finetune_config.json").write_text(json.dumps(config_to_dict(cfg), indent=2) + "\n")

        print(f"[3/4] finetuning {arch} ({args.protocol}, from {encoder or 'random init'}): {cfg.run.epochs} epochs, "
              f"batch {cfg.run.batch_size}, {cfg.data.max_frames}-frame crops -> {cfg.run.output_dir}")
        summary = finetune(cfg)
        print(f"  loss {summary.get('loss_first_epoch', float('nan')):.4f} (epoch 1) -> "
              f"{summary.get('loss_last_epoch', float('nan')):.4f} (epoch {summary['epochs_done']}); "
              f"{summary['trainable_params']:,} trainable parameters")

        print(f"[4/4] evaluating {summary['model']} on split {eval_split!r}")
        device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                              else ("cpu" if args.device == "auto" else args.device))
        model = skelzoo.load_model(f"local-dir:{summary['model']}", device=device)
        metrics = evaluate(model, root, eval_split, args.eval_max_frames, device)
    except (OSError, ValueError, KeyError, ImportError, RuntimeError, SkelzooError) as e:
        print(f"error: {e}", file=sys.stderr)
        if args.encoder == DEFAULT_ENCODER and DEFAULT_ENCODER in str(e):
            print("hint: pretrain an encoder with examples/pretrain_own_data.py and pass --encoder "
                  "local-dir:OUT/run/encoder (or --encoder none)", file=sys.stderr)
        return 2
    for proto in ("clean", "line"):
        row = [f"{metrics[k]:5.1f}" for k in sorted(metrics) if k.startswith(f"map_{proto}@")]
        if row:
            print(f"  mAP ({proto:<5}) @0.1..0.5: {' '.join(row)}   avg {metrics[f'map_{proto}_avg']:.1f}")
    print("  frame accuracy {accuracy:.1f} (action frames {fg:.1f}, background frames {bg:.1f})  edit {edit:.1f}  "
          "F1@10/25/50 {F1@10:.1f}/{F1@25:.1f}/{F1@50:.1f}  ({n:.0f} sequences)".format(
              n=metrics["num_sequences"], fg=metrics.get("accuracy_foreground", float("nan")),
              bg=metrics.get("accuracy_background", float("nan")), **metrics))
    recall = {model.class_names[int(k[7:])] if model.class_names else k[7:]: v for k, v in metrics.items()
              if k.startswith("recall_")}
    if recall:
        print("  frame recall per class: " + ", ".join(f"{n} {v:.1f}" for n, v in recall.items()))
    show_example(model, root, eval_split, device)
    (args.out / "metrics.json").write_text(json.dumps(
        {"model": summary["model"], "split": eval_split, "metrics": metrics,
         "train": {k: v for k, v in summary.items() if k != "config"}}, indent=2, default=str) + "\n")
    print(f"done in {time.perf_counter() - t0:.0f} s; metrics in {args.out / 'metrics.json'}. Localize a recording:\n"
          f"  skelzoo localize RECORDING --model {summary['model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
