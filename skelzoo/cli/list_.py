"""``skelzoo list [PATTERN] [--pretrained] [--task TASK] [--json]``."""
from __future__ import annotations

import argparse

from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list architectures (or pretrained arch.tag weights)",
                       description="List registered architectures, or with --pretrained the arch.tag "
                                   "checkpoints with dataset, metric, licence, layout and source.")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern (default: *)")
    p.add_argument("--pretrained", action="store_true", help="list arch.tag names that have weights")
    p.add_argument("--task", choices=("classification", "features", "localization"), default=None,
                   help="only models (checkpoints, with --pretrained) for this task: features = encoders without "
                        "a classifier (e.g. the snippet-contrast encoders)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import checkpoint_task, get_entry, get_weights, list_models, split_name

    names = list_models(args.pattern, pretrained=args.pretrained, task=args.task)
    rows = []
    for n in names:
        arch, tag = split_name(n)
        e = get_entry(arch)
        if args.pretrained:
            w = get_weights(arch, tag)
            rows.append({"name": n, "task": checkpoint_task(arch, tag), "dataset": w.dataset,
                         "metrics": dict(w.metrics), "license": w.license, "layout": w.layout,
                         "fps": w.fps, "preprocess": w.preprocess, "num_person": w.num_person,
                         "weights": _where(w), "location": w.location,
                         "source": w.source or w.location, "default": tag == e.default_tag})
        else:
            rows.append({"name": n, "task": e.task, "family": e.family, "tags": list(e.weights)})
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(f"no models match {args.pattern!r}" + (f" with task {args.task!r}" if args.task else ""))
        return 0
    from ._table import format_table

    if args.pretrained:
        table = [[r["name"] + (" *" if r["default"] else ""), r["task"], _short(r["dataset"] or "-", 30),
                  _short(_main_metric(r["metrics"]), 28), _short(r["license"], 24), r["layout"],
                  f"{r['fps']:g}" if r["fps"] else "-", r["weights"]] for r in rows]
        print(format_table(["name (* = default tag)", "task", "dataset", "metric", "licence", "layout", "fps",
                            "weights"], table, align="llllllrl"))
        print("\nbundled = inside the package (offline); download = fetched on first use, sha256-checked, "
              "then cached. `skelzoo info NAME` shows everything; --json for all fields.")
    else:
        table = [[r["name"], r["task"], r["family"] or "-", ", ".join(r["tags"]) or "-"] for r in rows]
        print(format_table(["architecture", "task", "family", "weights (tags)"], table, align="llll"))
    return 0


def _where(w) -> str:
    """Where a checkpoint's weights come from, for a person."""
    if w.file:
        return "bundled"
    if w.hf_hub_id:
        return "download (HF Hub)"
    return f"download ({w.convert_source})"


def _main_metric(metrics: dict) -> str:
    if not metrics:
        return "-"
    k, v = next(iter(metrics.items()))
    return f"{k}={v}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
