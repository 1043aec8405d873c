"""``skelzoo data prepare {bandai-untrimmed,bandai-untrimmed-2d,bandai-clips,files}``: build prepared datasets
(JSON summary)."""
from __future__ import annotations

import argparse
import glob
from pathlib import Path

from .main import print_json


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="output directory (written atomically)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing, different --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _bandai(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True,
                   help="folder with bandai-namco-motion-{1,2}.tar.xz (or the extracted Bandai folders)")
    p.add_argument("--cache", type=Path, default=None,
                   help="parse cache (default OUT/parsed; share it between preparations)")
    p.add_argument("--workers", type=int, default=None, help="BVH parsing processes (default min(4, CPUs))")
    p.add_argument("--clips-per-group", type=int, default=None,
                   help="use only a seeded subset of N clips per (dataset, content, style) (quick builds)")
    p.add_argument("--no-normalise", action="store_true", help="skip the NTU pre-normalisation")
    p.add_argument("--val-styles", default="",
                   help="dataset-2 training styles held out as a 'val' split for model selection, comma-separated "
                        "('default' = exhausted); test is unchanged")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="prepare datasets (skeleton caches for training and evaluation)",
                       description="Build prepared datasets: .npz shards plus index.json, read by "
                                   "skelzoo.data.UntrimmedDataset / ClipDataset.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    dsub.required = True
    pp = dsub.add_parser("prepare", help="build a prepared dataset")
    which = pp.add_subparsers(dest="dataset", metavar="DATASET")
    which.required = True

    b = which.add_parser("bandai-untrimmed", help="Bandai Namco untrimmed localization benchmark (CC BY-NC 4.0)",
                         description="Chain Bandai Namco dataset-2 clips into untrimmed sequences with frame "
                                     "labels (10 classes + background), split by style.")
    _bandai(b)
    _common(b)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--num-train", type=int, default=None, help="sequences (default: every clip used once)")
    b.add_argument("--num-test", type=int, default=None, help="sequences (default: every clip used once)")
    b.add_argument("--no-background-clips", action="store_true",
                   help="background gaps are idle holds only (do not use dataset-1 actions)")
    b.add_argument("--max-frames", type=int, default=1000, help="maximum sequence length (frames)")
    b.set_defaults(func=run)

    b2 = which.add_parser("bandai-untrimmed-2d",
                          help="bandai-untrimmed seen by random virtual cameras as noisy 2-D COCO-17 keypoints "
                               "(CC BY-NC 4.0)",
                          description="Compose the bandai-untrimmed sequences, project them through random pinhole "
                                      "cameras (held-out azimuths for test and val) with detector-like noise, and "
                                      "normalise them ('coco2d'). Pixels are kept in OUT/pixels.")
    _bandai(b2)
    _common(b2)
    b2.add_argument("--seed", type=int, default=0, help="composition seed")
    b2.add_argument("--camera-seed", type=int, default=None, help="camera and noise seed (default: --seed)")
    b2.add_argument("--num-train", type=int, default=None, help="sequences (default: every clip used once)")
    b2.add_argument("--num-test", type=int, default=None, help="sequences (default: every clip used once)")
    b2.set_defaults(func=run)

    c = which.add_parser("bandai-clips", help="every Bandai Namco clip as a sequence (pretraining; CC BY-NC 4.0)")
    _bandai(c)
    _common(c)
    c.add_argument("--datasets", default="1,2", help="comma-separated Bandai dataset numbers (default 1,2)")
    c.set_defaults(func=run)

    f = which.add_parser("files", help="a user's own recordings (any readable skeleton format)")
    f.add_argument("patterns", nargs="+", help="files or glob patterns (quote them)")
    _common(f)
    f.add_argument("--labels", type=Path, default=None,
                   help='JSON {"classes": [...], "sequences": {file: [[class, start, end], ...]}}')
    f.add_argument("--format", default=None, help="input format (default: detected)")
    f.add_argument("--fps", type=float, default=30.0)
    f.add_argument("--persons", type=int, default=1, help="persons kept (most energetic first)")
    f.add_argument("--split", default="all", help="split name (default 'all')")
    f.add_argument("--no-normalise", action="store_true", help="skip the NTU pre-normalisation")
    f.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    progress = not args.no_progress
    if args.dataset in ("bandai-untrimmed", "bandai-clips", "bandai-untrimmed-2d"):
        if not args.data.exists():
            raise FileNotFoundError(f"{args.data}: no such folder")
        if args.workers is not None and args.workers < 1:
            raise ValueError("--workers must be >= 1")
    if args.dataset == "bandai-untrimmed":
        from ..data.bandai import ComposeConfig, prepare_bandai_untrimmed

        for name in ("num_train", "num_test"):
            v = getattr(args, name)
            if v is not None and v < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
        cfg = ComposeConfig(max_frames=args.max_frames, max_clip_frames=min(150, args.max_frames))
        res = prepare_bandai_untrimmed(args.data, args.out, seed=args.seed, num_train=args.num_train,
                                       num_test=args.num_test, config=cfg,
                                       background_clips=not args.no_background_clips,
                                       normalise=not args.no_normalise, cache_dir=args.cache, workers=args.workers,
                                       clips_per_group=args.clips_per_group, progress=progress,
                                       overwrite=args.overwrite, val_styles=args.val_styles)
    elif args.dataset == "bandai-untrimmed-2d":
        from ..data.bandai2d import prepare_bandai_untrimmed_2d

        if args.no_normalise:
            raise ValueError("bandai-untrimmed-2d is always normalised ('coco2d'); the pixels are in OUT/pixels")
        res = prepare_bandai_untrimmed_2d(args.data, args.out, seed=args.seed, camera_seed=args.camera_seed,
                                          cache_dir=args.cache, val_styles=args.val_styles, workers=args.workers,
                                          clips_per_group=args.clips_per_group, num_train=args.num_train,
                                          num_test=args.num_test, progress=progress, overwrite=args.overwrite)
    elif args.dataset == "bandai-clips":
        from ..data.bandai import prepare_bandai_clips

        try:
            datasets = [int(s) for s in args.datasets.split(",") if s.strip()]
        except ValueError:
            raise ValueError(f"--datasets must be comma-separated numbers, got {args.datasets!r}") from None
        res = prepare_bandai_clips(args.data, args.out, datasets=datasets, normalise=not args.no_normalise,
                                   cache_dir=args.cache, workers=args.workers, clips_per_group=args.clips_per_group,
                                   progress=progress, overwrite=args.overwrite, val_styles=args.val_styles)
    else:
        from ..data.prepare import prepare_files

        files: list[str] = []
        for pat in args.patterns:
            hits = sorted(glob.glob(pat, recursive=True))
            if not hits and not glob.has_magic(pat):
                raise FileNotFoundError(f"{pat}: no such file")
            if not hits:
                raise FileNotFoundError(f"{pat}: no file matches")
            files += [h for h in hits if Path(h).is_file()]
        if args.persons < 1:
            raise ValueError("--persons must be >= 1")
        if args.fps <= 0:
            raise ValueError("--fps must be positive")
        ds = prepare_files(files, args.out, labels=args.labels, format=args.format, fps=args.fps,
                           num_persons=args.persons, split=args.split, normalise=not args.no_normalise,
                           progress=progress, overwrite=args.overwrite)
        res = {"name": "files", "out": str(args.out), "status": "written",
               "splits": {s: {"sequences": ds.num_sequences(s), "frames": ds.num_frames(s)} for s in ds.splits},
               "class_names": ds.class_names, "background_index": ds.background_index}
    print_json(res)
    return 0
