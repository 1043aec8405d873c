"""``skelzoo export NAME --format onnx|torchscript --out FILE [--pretrained [TAG]] [--frames T]``."""
from __future__ import annotations

import argparse
from pathlib import Path

from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model to ONNX or TorchScript (verified against PyTorch)",
                       description="Export NAME (arch, arch.tag, hf-hub:ORG/REPO[@REV] or local-dir:DIR) to "
                                   "ONNX or TorchScript with dynamic batch and time axes. The file is run on "
                                   "another batch size and length and compared with PyTorch before the "
                                   "command succeeds (ONNX: needs onnxruntime). Prints a JSON report.")
    p.add_argument("name", help="model name: arch, arch.tag, hf-hub:ORG/REPO[@REV] or local-dir:DIR")
    p.add_argument("--format", required=True, choices=("onnx", "torchscript"), dest="fmt")
    p.add_argument("--out", type=Path, required=True, help="output file (.onnx / .pt)")
    p.add_argument("--pretrained", nargs="?", const=True, default=False, metavar="TAG",
                   help="load weights: the default tag, or TAG (arch.tag names load their weights anyway)")
    p.add_argument("--frames", type=int, default=64, help="T of the example input (default 64)")
    p.add_argument("--static", action="store_true", help="fix batch and time to the example shape")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 18)")
    p.add_argument("--exporter", default="auto", choices=("auto", "dynamo", "torchscript"),
                   help="ONNX exporter: torch.export-based dynamo, the legacy tracer, or auto (dynamo, then legacy)")
    p.add_argument("--method", default="trace", choices=("trace", "script"), help="TorchScript method")
    p.add_argument("--num-classes", type=int, default=None, help="re-initialise the head to this size")
    p.add_argument("--atol", type=float, default=1e-4, help="tolerance of the check (relative to output scale)")
    p.add_argument("--no-verify", action="store_true", help="skip the comparison with PyTorch")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..export import DEFAULT_OPSET, export_onnx, export_torchscript
    from ..models import load_model

    if args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if args.out.exists() and args.out.is_dir():
        raise IsADirectoryError(f"--out {args.out} is a directory; give a file name")
    model = load_model(args.name, pretrained=args.pretrained, num_classes=args.num_classes)
    common = dict(frames=args.frames, dynamic=not args.static, verify=not args.no_verify, atol=args.atol)
    if args.fmt == "onnx":
        report = export_onnx(model, args.out, opset=args.opset or DEFAULT_OPSET, exporter=args.exporter,
                             **common)
    else:
        if args.opset is not None:
            raise ValueError("--opset only applies to --format onnx")
        report = export_torchscript(model, args.out, method=args.method, **common)
    cfg = getattr(model, "skelzoo_config", {})
    print_json({"name": args.name, "architecture": cfg.get("architecture"), "tag": cfg.get("tag"),
                "task": getattr(model, "task", None), **report})
    return 0
