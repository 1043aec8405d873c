"""``skelzoo convert SRC --arch ARCH [--source official|pyskl|mmaction2] --out DIR``."""
from __future__ import annotations

import argparse
from pathlib import Path

from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert an official/pyskl/mmaction2 checkpoint to a skelzoo folder",
                       description="Read SRC with torch.load(weights_only=True), map its keys to the skelzoo "
                                   "architecture, and write config.json + model.safetensors + README.md to "
                                   "DIR (loadable with load_model('local-dir:DIR')).")
    p.add_argument("src", type=Path, help=".pt/.pth checkpoint")
    p.add_argument("--arch", required=True, help="skelzoo architecture, e.g. ctrgcn")
    p.add_argument("--source", default="official", choices=("official", "pyskl", "mmaction2"))
    p.add_argument("--num-classes", type=int, default=None, help="re-initialise the classifier to this size")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import convert_checkpoint, save_pretrained

    if not args.src.is_file():
        raise FileNotFoundError(f"{args.src}: no such checkpoint file")
    model = convert_checkpoint(args.src, args.arch, source=args.source, num_classes=args.num_classes)
    out = save_pretrained(model, args.out)
    print_json({"arch": args.arch, "source": args.source, "out": str(out),
                "num_params": sum(p.numel() for p in model.parameters()),
                "num_classes": getattr(model, "num_classes", None)})
    return 0
