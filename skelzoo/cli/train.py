"""``skelzoo pretrain`` and ``skelzoo finetune``: run a training stage from a YAML/JSON config.

Both take ``--config FILE`` (optional: defaults are the paper's), ``--set section.key=value`` (repeatable;
values parsed as YAML), ``--resume`` (continue from ``<output_dir>/last.pt``, or ``--resume PATH``),
``--output-dir`` (shortcut for ``--set run.output_dir=...``) and ``--print-config`` (print the resolved config
and exit). The result is a JSON summary on stdout.
"""
from __future__ import annotations

import argparse
from typing import Any

from .main import print_json

__all__ = ["register", "run_pretrain", "run_finetune"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="YAML or JSON config (sections run, data, model, optim, ...)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set run.epochs=5 --set optim.steps=[30,35]")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CKPT",
                   help="continue from <output_dir>/last.pt (or from CKPT)")
    p.add_argument("--output-dir", help="same as --set run.output_dir=DIR")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")


def register(subparsers: Any) -> None:
    """Add the ``pretrain`` and ``finetune`` sub-commands."""
    p = subparsers.add_parser("pretrain", help="contrastive pretraining (SnipCLR / SkeletonCLR) of an encoder",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.set_defaults(func=run_pretrain)
    f = subparsers.add_parser("finetune", help="localization finetuning (linear / finetune / semi protocols)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(f)
    f.set_defaults(func=run_finetune)


def _load(cls: type, args: argparse.Namespace) -> Any:
    from ..training.trainer import load_config

    overrides = list(args.overrides)
    if args.output_dir:
        overrides.append(f"run.output_dir={args.output_dir}")
    return load_config(cls, args.config, overrides)


def _run(cls: type, stage: Any, args: argparse.Namespace) -> int:
    from ..training.trainer import config_to_dict

    cfg = _load(cls, args)
    if args.print_config:
        print_json(config_to_dict(cfg))
        return 0
    summary = stage(cfg, resume=args.resume)
    summary.pop("config", None)
    print_json(summary)
    return 0


def run_pretrain(args: argparse.Namespace) -> int:
    from ..training.pretrain import PretrainConfig, pretrain

    return _run(PretrainConfig, pretrain, args)


def run_finetune(args: argparse.Namespace) -> int:
    from ..training.finetune import FinetuneConfig, finetune

    return _run(FinetuneConfig, finetune, args)
