"""Training-step speed: snippet contrast (SnipCLR) vs plain MoCo (SkeletonCLR), loader vs step time, and the
localization model's forward+backward with fast vs plain backbone paths.

Table 1 (pretraining): clips/s of one optimisation step (query forward+backward, momentum key encoder,
queue update, SGD step) of ``SnipCLR`` and ``SkeletonCLR`` on ``agcn_loc`` (``--width`` base channels),
batch ``--batch``, T ``--frames``; "views" = time to make the query/key views of the batch
(``skelzoo.training.pretrain.make_views``: the per-batch loader work), as a fraction of the step.
Table 2 (training step of ``agcn_loc_ufusion``, reduced width as in the lead's runs, T=``--loc-frames``):
forward+backward seconds with fast paths vs the plain per-subset baseline, interleaved medians.

    python benchmarks/pretrain.py [--batch 8] [--frames 64] [--width 32] [--repeats 3] [--loc-frames 192]
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


REFERENCE = "SkeletonCLR, plain backbone"


def pretrain_rows(batch: int, frames: int, width: int, repeats: int, queue: int = 4096) -> list[dict]:
    """Clips/s of one optimisation step of SnipCLR and of the plain MoCo design (SkeletonCLR), interleaved.

    The reference MoCo design (:data:`REFERENCE`) is SkeletonCLR with the backbone on its plain
    per-subset path (:func:`_baselines.baseline_mode`, the official formulation), as the released
    SkeletonCLR / SnipCLR code runs it; SkeletonCLR on the fast path is also shown, so the cost of the
    snippet contrast itself is visible."""
    import torch
    from _baselines import baseline_mode
    from _common import interleaved

    from skelzoo.contrastive.skeletonclr import SkeletonCLR
    from skelzoo.contrastive.snippet import SnipCLR
    from skelzoo.data.augment import AugmentConfig
    from skelzoo.training.pretrain import make_views

    torch.manual_seed(0)
    args = {"base_channels": width}
    models = {"SnipCLR (snippet contrast)": SnipCLR("agcn_loc", backbone_args=args, queue_size=queue),
              "SkeletonCLR (plain MoCo)": SkeletonCLR("agcn_loc", backbone_args=args, queue_size=queue),
              REFERENCE: SkeletonCLR("agcn_loc", backbone_args=args, queue_size=queue)}
    x = torch.randn(batch, 3, frames, 25, 1)
    gen = torch.Generator().manual_seed(0)
    aug = AugmentConfig()

    def views():
        return make_views(x, aug, relative_tempo=False, view_frames=frames, generator=gen)

    v = views()
    fns = {"views": views}
    for name, m in models.items():
        m.train()
        opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)

        def step(m=m, opt=opt, plain=name == REFERENCE):
            opt.zero_grad(set_to_none=True)
            with baseline_mode() if plain else contextlib.nullcontext():
                loss = m(v["query"], v["key"])["loss"]
            loss.backward()
            opt.step()
        fns[name] = step
    t = interleaved(fns, repeats)
    return [{"name": k, "step_s": t[k], "clips_s": batch / t[k], "views_s": t["views"]} for k in models]


def loc_rows(batch: int, frames: int, repeats: int) -> list[dict]:
    import torch
    from _baselines import baseline_mode
    from _common import interleaved

    import skelzoo

    torch.manual_seed(0)
    model = skelzoo.load_model("agcn_loc_ufusion", backbone_args={"base_channels": 32}, neck_channels=128,
                               num_classes=10).train()
    x = torch.randn(batch, 3, frames, 25, 1)

    def fwd_bwd():
        model.zero_grad(set_to_none=True)
        out = model(x)
        out = out if torch.is_tensor(out) else next(v for v in (out.values() if isinstance(out, dict) else out)
                                                      if torch.is_tensor(v))
        out.float().square().mean().backward()

    def base():
        with baseline_mode():
            fwd_bwd()

    t = interleaved({"fast": fwd_bwd, "base": base}, repeats)
    return [{"name": f"agcn_loc_ufusion w32 N={batch} T={frames}", "fast_s": t["fast"], "base_s": t["base"]}]


def print_tables(pre: list[dict], loc: list[dict], batch: int, frames: int, width: int) -> None:
    print(f"pretraining step, agcn_loc width {width}, N={batch} T={frames} (interleaved medians); "
          f"reference MoCo = {REFERENCE!r} (the official per-subset formulation)")
    print(f"{'method':<28} {'step s':>7} {'clips/s':>8} {'views s':>8} {'views/step':>10} {'vs ref MoCo':>11} "
          f"{'vs fast MoCo':>12}")
    ref = next(r for r in pre if r["name"] == REFERENCE)
    moco = next(r for r in pre if "plain MoCo" in r["name"])
    for r in pre:
        print(f"{r['name']:<28} {r['step_s']:>7.3f} {r['clips_s']:>8.1f} {r['views_s']:>8.3f} "
              f"{r['views_s'] / r['step_s']:>10.2f} {ref['step_s'] / r['step_s']:>10.2f}x "
              f"{moco['step_s'] / r['step_s']:>11.2f}x")
    print("training step (forward+backward), fast paths vs plain per-subset baseline")
    print(f"{'model':<36} {'base s':>7} {'fast s':>7} {'speedup':>7}")
    for r in loc:
        print(f"{r['name']:<36} {r['base_s']:>7.3f} {r['fast_s']:>7.3f} {r['base_s'] / r['fast_s']:>6.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--loc-frames", type=int, default=192)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    pre = pretrain_rows(args.batch, args.frames, args.width, args.repeats)
    loc = loc_rows(args.batch, args.loc_frames, args.repeats)
    print_tables(pre, loc, args.batch, args.frames, args.width)


if __name__ == "__main__":
    main()
