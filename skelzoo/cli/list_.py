"""``skelzoo list [PATTERN] [--pretrained] [--json]``."""
from __future__ import annotations

import argparse

from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list architectures (or pretrained arch.tag weights)",
                       description="List registered architectures, or with --pretrained the arch.tag "
                                   "checkpoints with dataset, metric, licence, layout and source.")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern (default: *)")
    p.add_argument("--pretrained", action="store_true", help="list arch.tag names that have weights")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..zoo._registry import get_entry, get_weights, list_models, split_name

    names = list_models(args.pattern, pretrained=args.pretrained)
    rows = []
    for n in names:
        arch, tag = split_name(n)
        e = get_entry(arch)
        if args.pretrained:
            w = get_weights(arch, tag)
            rows.append({"name": n, "task": e.task, "dataset": w.dataset,
                         "metrics": dict(w.metrics), "license": w.license, "layout": w.layout,
                         "source": w.source or w.location, "default": tag == e.default_tag})
        else:
            rows.append({"name": n, "task": e.task, "family": e.family, "tags": list(e.weights)})
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(f"no models match {args.pattern!r}")
        return 0
    if args.pretrained:
        for r in rows:
            metrics = ", ".join(f"{k}={v}" for k, v in r["metrics"].items()) or "-"
            print(f"{r['name']:<40} {r['task']:<15} {r['dataset'] or '-':<28} {metrics:<24} "
                  f"{r['license']:<14} {r['layout']:<12} {r['source']}")
    else:
        for r in rows:
            tags = ", ".join(r["tags"]) or "-"
            print(f"{r['name']:<28} {r['task']:<15} weights: {tags}")
    return 0
