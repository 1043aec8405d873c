"""kNN and linear probes of frozen encoders against random encoders of the same architecture.

Windows: one centred window (96 frames) of every dataset-2 clip of a ``bandai-clips`` preparation with a
validation split (``skelzoo data prepare bandai-clips --val-styles default``). The bank (and the linear
probe's training set) is the ``train`` split; the queries are ``--split`` (``val`` for selection; ``test``,
the unseen styles, to report once). Labels: the 10 dataset-2 contents. Features: the encoder's last map
averaged over time, joints and persons (:func:`skelzoo.evaluation.probe.pooled_features`).

Encoders: registered names (``agcn_loc.snipclr_bandai_w16_e40``), ``local-dir:PATH`` / a folder written by
``skelzoo pretrain`` (``.../encoder``), or ``random:ARCH:INIT:SEED`` with INIT ``torch`` (PyTorch's default
initialisation) or ``moco`` (the pretraining initialisation, N(0, 0.02²)). ARCH may be a registered
``arch.tag`` name: the random encoder then has exactly that checkpoint's architecture and builder arguments
(width, persons, layout) and its preprocessing, without its weights (``random:aagcn.snipclr_bandai_w16:torch:0``
is the same-architecture control for ``aagcn.snipclr_bandai_w16``; ``scripts/family_campaign.py gate`` counts
such rows as the controls of every encoder of that architecture). ARCH may also be a saved encoder folder
(``random:runs/v2/pretrain_snipclr_s0/encoder_best:torch:0``): its ``config.json`` architecture, builder
arguments and preprocessing (e.g. ``ntu_bodysize``), without its weights — the control for encoders that are
not registered. Each encoder's own preprocessing
is applied (``ntu_bodysize`` scales every clip to a common torso length).

Usage::

    python scripts/probe_encoders.py --data data/bclips_val --split val \\
        random:stgcn_ssl:torch:0 random:stgcn_ssl:moco:0 runs/v2/pretrain_snipclr_s0/encoder_best
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def parse_random(spec: str) -> tuple[str, str, int, dict | None] | None:
    """``random:ARCH:INIT:SEED`` -> ``(ARCH, INIT, SEED, config)`` with ``config`` the ``config.json`` of ARCH
    when ARCH is a saved encoder folder (else None); None for any other spec."""
    if not spec.startswith("random:"):
        return None
    arch, init, seed = spec.split(":", 1)[1].rsplit(":", 2)
    saved = Path(arch) / "config.json"
    return arch, init, int(seed), (json.loads(saved.read_text()) if saved.is_file() else None)


def load_encoder(spec: str) -> tuple[torch.nn.Module, str]:
    import skelzoo

    random_spec = parse_random(spec)
    if random_spec is not None:
        arch, init, seed, cfg = random_spec
        torch.manual_seed(seed)
        if cfg is not None:  # a saved encoder folder's architecture, arguments and preprocessing, not its weights
            model = skelzoo.load_model(cfg["architecture"], **(cfg.get("model_args") or {}))
            pre = cfg.get("preprocess") or "ntu"
        elif "." in arch:  # a registered checkpoint's architecture and arguments, without its weights
            info = skelzoo.model_info(arch)
            model = skelzoo.load_model(info["arch"], **info["model_args"])
            pre = info["preprocess"] or "ntu"
        else:
            model, pre = skelzoo.load_model(arch, num_classes=0), "ntu"
        if init == "moco":
            from skelzoo.contrastive.moco import init_moco_weights
            init_moco_weights(model)
        elif init != "torch":
            raise ValueError(f"random init must be 'torch' or 'moco', got {init!r}")
        model.preprocess = pre
        return model, pre
    path = Path(spec.removeprefix("local-dir:"))
    if path.is_dir():
        model = skelzoo.load_model(f"local-dir:{path}")
    else:
        model = skelzoo.load_model(spec)
    return model, getattr(model, "preprocess", "ntu") or "ntu"


def main(argv: list[str] | None = None) -> int:
    from skelzoo.data.transforms import body_size_transform
    from skelzoo.evaluation.probe import center_windows, knn_probe, linear_probe, pooled_features

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("encoders", nargs="+")
    ap.add_argument("--data", default="data/bclips_val")
    ap.add_argument("--split", default="val", help="query split (val for selection, test to report)")
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    windows: dict[str, tuple] = {}

    def windows_for(pre: str) -> tuple:
        """(bank, queries) windows with the encoder's preprocessing beyond the prepared data's (cut once each)."""
        if pre not in windows:
            tf = body_size_transform if pre == "ntu_bodysize" else None
            windows[pre] = tuple(center_windows(args.data, split, args.frames, max_label=10, where={"dataset": 2},
                                                transform=tf) for split in ("train", args.split))
        return windows[pre]

    from skelzoo.data.prepare import PreparedDataset
    names = PreparedDataset(args.data).class_names[:10]
    (xb, yb), (xq, yq) = windows_for("ntu")
    print(f"bank: {len(xb)} train windows; queries: {len(xq)} {args.split} windows; {len(names)} classes")
    rows = []
    print("| encoder | kNN-1 top-1 | kNN-20 top-1 | linear top-1 | linear balanced | s |")
    print("|---|---|---|---|---|---|")
    for spec in args.encoders:
        t0 = time.perf_counter()
        model, pre = load_encoder(spec)
        (xb, yb), (xq, yq) = windows_for("ntu_bodysize" if pre == "ntu_bodysize" else "ntu")
        fb, fq = pooled_features(model, xb), pooled_features(model, xq)
        k1 = knn_probe(fb, yb, fq, yq, k=1)
        k20 = knn_probe(fb, yb, fq, yq, k=20)
        lin = linear_probe(fb, yb, fq, yq)
        dt = time.perf_counter() - t0
        print(f"| `{spec}` | {100 * k1.accuracy:.1f} | {100 * k20.accuracy:.1f} | {100 * lin.accuracy:.1f} | "
              f"{100 * lin.balanced_accuracy:.1f} | {dt:.0f} |", flush=True)
        rows.append({"encoder": spec, "preprocess": pre, "knn1": k1.as_dict(names), "knn20": k20.as_dict(names),
                     "linear": lin.as_dict(names)})
    print("\nper-class recall (linear probe), %:")
    print("| encoder | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for r in rows:
        pc = r["linear"]["per_class"]
        print(f"| `{r['encoder']}` | " + " | ".join(f"{100 * pc.get(n, float('nan')):.0f}" for n in names) + " |")
    print_groups(rows)
    if args.json:
        args.json.write_text(json.dumps({"split": args.split, "data": args.data, "rows": rows}, indent=2) + "\n")
    return 0


def group_key(spec: str) -> str:
    """The encoder spec without its seed: ``random:ARCH:INIT:SEED`` -> ``random:ARCH:INIT``; a run folder
    ``.../pretrain_<family>_s<seed>/...`` -> ``.../pretrain_<family>_s*/...``; anything else unchanged."""
    import re

    if spec.startswith("random:"):
        return spec.rsplit(":", 1)[0]
    return re.sub(r"_s\d+(?=/|$)", "_s*", spec)


def print_groups(rows: list[dict]) -> None:
    """Mean ± sample sd over the seeds of each group (:func:`group_key`), for the kNN-1 and linear probes."""
    import statistics

    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(group_key(r["encoder"]), []).append(r)
    if all(len(g) == 1 for g in groups.values()):
        return

    def ms(vals: list[float]) -> str:
        vals = [100 * v for v in vals]
        return f"{statistics.mean(vals):.1f}" + (f" ± {statistics.stdev(vals):.1f}" if len(vals) > 1 else "")
    print("\nover seeds (mean ± sample sd):")
    print("| encoders | seeds | kNN-1 top-1 | kNN-20 top-1 | linear top-1 | linear balanced |")
    print("|---|---|---|---|---|---|")
    for key, g in groups.items():
        print(f"| `{key}` | {len(g)} | {ms([r['knn1']['accuracy'] for r in g])} | "
              f"{ms([r['knn20']['accuracy'] for r in g])} | {ms([r['linear']['accuracy'] for r in g])} | "
              f"{ms([r['linear']['balanced_accuracy'] for r in g])} |")


if __name__ == "__main__":
    sys.exit(main())
