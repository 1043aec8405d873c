"""Shortcut diagnostics of contrastive pretraining runs (``skelzoo.contrastive.diagnostics``), one table per run.

For each run folder (written by ``skelzoo pretrain``: ``config.json`` + ``last.pt``, or ``--checkpoint``):

- key-age profile: mean query-key similarity by the age (in steps) of the queue's keys;
- freshness test: instance top-1 against [key, queue] with 0, 1 and 3 extra momentum updates before the keys;
- snippet matching against a known offset (key view = query view shifted by 8 and 16 frames), with the
  run's own matching rule and with the other ones, and the mean number of distinct matched key snippets.

The batches are the run's own training data and augmentations (fixed seed), so the numbers describe the
task the run was trained on.

Usage::

    python scripts/pretrain_diagnostics.py runs/v1_replica runs/v2/pretrain_snipclr_s0 [--json out.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch


def load_run(run: Path, checkpoint: Path | None = None):
    from skelzoo.training.pretrain import PretrainConfig, build_pretrain_model
    from skelzoo.training.trainer import config_from_dict, load_checkpoint

    cfg = config_from_dict(PretrainConfig, json.loads((run / "config.json").read_text()))
    model = build_pretrain_model(cfg.model, seed=cfg.run.seed)
    state = load_checkpoint(checkpoint or run / "last.pt")
    model.load_state_dict(state["model"])
    return cfg, model, int(state["epoch"])


def clips(cfg, n: int, frames: int, seed: int) -> torch.Tensor:
    """``n`` training windows of ``frames`` frames (the run's data and body-size setting)."""
    from skelzoo.data.datasets import ClipDataset
    from skelzoo.training.pretrain import body_size_transform

    root = cfg.data.root
    roots = [root] if isinstance(root, str) else list(root)
    tf = body_size_transform if getattr(cfg.data, "body_size", False) else None
    items = []
    g = torch.Generator().manual_seed(seed)
    for r in roots:
        ds = ClipDataset(r, cfg.data.split, clip_len=frames, mode="crop", seed=seed, num_persons=1, transform=tf)
        idx = torch.randperm(len(ds), generator=g)[: max(1, n // len(roots))]
        items += [ds[int(i)] for i in idx]
    x = torch.stack(items[:n])
    keep = (x.abs().sum(dim=(1, 3, 4)) > 0).all(dim=1)  # only windows without zero padding
    return x[keep]


def diagnose(run: Path, checkpoint: Path | None, n: int, seed: int) -> dict:
    from skelzoo.contrastive.diagnostics import freshness_test, key_age_profile, snippet_matching
    from skelzoo.training.pretrain import make_views

    cfg, model, epoch = load_run(run, checkpoint)
    frames = cfg.data.clip_frames
    x = clips(cfg, n, frames, seed)
    g = torch.Generator().manual_seed(seed)
    views = make_views(x, cfg.augment, relative_tempo=False, view_frames=frames, generator=g)
    out: dict = {"run": str(run), "epoch": epoch, "method": cfg.model.method,
                 "negatives": getattr(cfg.model, "negatives", "queue"),
                 "snippet_match": cfg.model.snippet_match, "windows": int(len(x))}
    out["key_age"] = key_age_profile(model, views["query"], batch=cfg.run.batch_size)
    out["freshness"] = freshness_test(model, views["query"], views["key"])
    if cfg.model.method == "snipclr":
        no_crop = dataclasses.replace(cfg.augment, temporal_padding_ratio=0)
        out["matching"] = {}
        for shift in (8, 16):
            xl = clips(cfg, n, frames + shift, seed + shift)
            q = _view(xl[:, :, :frames], no_crop, True, g)
            k = _view(xl[:, :, shift:], no_crop, False, g)
            for rule in ("argmax", "cosine"):
                out["matching"][f"shift{shift}_{rule}"] = snippet_matching(model, q, k, shift, match=rule)
    return out


def _view(x, aug, strong, g):
    from skelzoo.data.augment import augment_view
    return augment_view(x, aug, strong=strong, generator=g)


def print_table(r: dict) -> None:
    print(f"\n## {r['run']} (epoch {r['epoch']}, {r['method']}, negatives={r['negatives']}, "
          f"match={r['snippet_match']}, {r['windows']} windows)")
    ages = sorted(r["key_age"])
    show = [a for a in ages if a in (1, 2, 3, 4, 6, 8) or a == ages[-1]]
    print("key age (steps)   | " + " | ".join(str(a) for a in show))
    print("mean q·key         | " + " | ".join(f"{r['key_age'][a]:.3f}" for a in show))
    f = r["freshness"]
    print("freshness top-1    | " + " | ".join(f"{k} updates: {100 * v:.1f} %" for k, v in f.items()))
    for name, m in r.get("matching", {}).items():
        print(f"matching {name:16s}| exact {100 * m['exact']:.1f} %, within ±1 {100 * m['within1']:.1f} % "
              f"(chance {100 * m['chance_within1']:.1f} %), distinct {m['distinct']:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--checkpoint", type=Path, default=None, help="checkpoint instead of RUN/last.pt (one run)")
    ap.add_argument("--windows", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    results = []
    for run in args.runs:
        r = diagnose(run, args.checkpoint, args.windows, args.seed)
        print_table(r)
        results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
