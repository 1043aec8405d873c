"""``skelzoo info NAME``: metadata of an architecture or ``arch.tag`` as JSON."""
from __future__ import annotations

import argparse

from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show metadata of an architecture or arch.tag (JSON)",
                       description="Print model_info(NAME) as JSON: task, layout, input, classes, "
                                   "parameters, licence, source, sha256, metrics, paper.")
    p.add_argument("name", help="arch or arch.tag")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import model_info

    print_json(model_info(args.name))
    return 0
