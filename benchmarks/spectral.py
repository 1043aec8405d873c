"""The backbones' (9, 1) temporal convolutions: direct (oneDNN's channels-last convolution) vs spectral (the
real-DFT bilinear algorithm of :mod:`skelzoo.blocks.spectral`), one layer at a time.

For each shape: the forward (no gradient) and forward + backward (input, weight and bias gradients) of both,
interleaved in one process (medians of ``--repeats``), the products per output frame (the direct convolution:
9), and each one's largest error against the same convolution in float64 (relative to the output's largest
entry). The shapes are those of the issue #20 workloads (:data:`SHAPES`): the eval forward of the backbone table
(b=8 × M=2 persons = 16 sequences, T=64 and the two downsampled stages), the same widths at the pretraining
batch, and ``stgcn_ssl``'s layers in the training steps of the example configs (``pretrain_v2.yaml``: 32 clips of
96 frames; ``localizer_v2.yaml``: 8 crops of 256 frames). "rule" is what
:func:`skelzoo.blocks.spectral.pays` picks without timing (eval / train).

    python benchmarks/spectral.py [--threads 1,2] [--repeats 7] [--quick]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: (workload, N, C, T, stride): the (9, 1) convolutions of the backbone table's eval forward (ST-GCN / 2s-AGCN /
#: AAGCN widths, b=8 × M=2), the same widths at the pretraining batch, and stgcn_ssl's own in the two training
#: configs (16 / 32 / 64 / 256 channels)
SHAPES = [
    ("eval b8 M2", 16, 64, 64, 1), ("eval b8 M2", 16, 128, 64, 2), ("eval b8 M2", 16, 128, 32, 1),
    ("eval b8 M2", 16, 256, 32, 2), ("eval b8 M2", 16, 256, 16, 1),
    ("ST-GCN widths N32 T96", 32, 64, 96, 1), ("ST-GCN widths N32 T96", 32, 128, 96, 2),
    ("ST-GCN widths N32 T96", 32, 128, 48, 1), ("ST-GCN widths N32 T96", 32, 256, 48, 2),
    ("ST-GCN widths N32 T96", 32, 256, 24, 1),
    ("pretrain_v2 stgcn_ssl", 32, 16, 96, 1), ("pretrain_v2 stgcn_ssl", 32, 32, 96, 2),
    ("pretrain_v2 stgcn_ssl", 32, 32, 48, 1), ("pretrain_v2 stgcn_ssl", 32, 64, 48, 2),
    ("pretrain_v2 stgcn_ssl", 32, 64, 24, 1), ("pretrain_v2 stgcn_ssl", 32, 256, 24, 1),
    ("localizer_v2 stgcn_ssl", 8, 16, 256, 1), ("localizer_v2 stgcn_ssl", 8, 32, 256, 2),
    ("localizer_v2 stgcn_ssl", 8, 32, 128, 1), ("localizer_v2 stgcn_ssl", 8, 64, 128, 2),
    ("localizer_v2 stgcn_ssl", 8, 64, 64, 1), ("localizer_v2 stgcn_ssl", 8, 256, 64, 1),
]
QUICK = [("eval b1", 2, 64, 16, 1), ("eval b1", 2, 128, 8, 2)]


def rows(threads: int, repeats: int, shapes: list[tuple]) -> list[dict]:
    import torch
    from _common import interleaved

    from skelzoo.blocks import spectral

    torch.set_num_threads(threads)
    out = []
    for work, n, c, t, s in shapes:
        g = torch.Generator().manual_seed(c + t)
        x = torch.randn(n, t, 25, c, generator=g)
        w = torch.randn(c, c, 9, 1, generator=g) / (3 * c ** 0.5)
        b = torch.randn(c, generator=g)
        exact = spectral.direct_conv(x.double(), w.double(), b.double(), s, 4)
        scale = float(exact.abs().max())
        xg, wg, bg = (v.clone().requires_grad_() for v in (x, w, b))
        gy = torch.randn(exact.shape, generator=g)
        fns, err = {}, {}
        for name, conv in (("direct", spectral.direct_conv), ("spectral", spectral.spectral_conv)):
            with torch.no_grad():
                err[name] = float((conv(x, w, b, s, 4).double() - exact).abs().max()) / scale

            def fwd(conv=conv):
                with torch.no_grad():
                    conv(x, w, b, s, 4)

            def fwd_bwd(conv=conv):
                conv(xg, wg, bg, s, 4).backward(gy)
            fns[f"{name} fwd"], fns[f"{name} fwd+bwd"] = fwd, fwd_bwd
        tm = interleaved(fns, repeats)
        p = spectral.plan(t, 9, 4, 1, s)
        out.append({"work": work, "n": n, "c": c, "t": t, "stride": s, "threads": threads, **tm,
                    "products": spectral.products_per_frame(p), "err": err,
                    "rule": (spectral.pays(c, c, 9, 1, s), spectral.pays(c, c, 9, 1, s, training=True))})
    return out


def print_table(rs: list[dict], repeats: int) -> None:
    print(f"(9, 1) convolution, V=25, channels-last float32, median of {repeats} interleaved; direct = oneDNN "
          "channels-last conv2d, spectral = skelzoo.blocks.spectral.spectral_conv")
    print("| workload | threads | N | C | T | stride | products/frame | fwd direct ms | fwd spectral ms | fwd speed-up "
          "| fwd+bwd direct ms | fwd+bwd spectral ms | fwd+bwd speed-up | error direct | error spectral | rule eval/train |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rs:
        f = r["direct fwd"] / r["spectral fwd"]
        fb = r["direct fwd+bwd"] / r["spectral fwd+bwd"]
        rule = "/".join("spectral" if v else "direct" for v in r["rule"])
        print(f"| {r['work']} | {r['threads']} | {r['n']} | {r['c']} | {r['t']} | {r['stride']} | "
              f"{r['products']:.2f} vs 9 | {r['direct fwd'] * 1e3:.1f} | {r['spectral fwd'] * 1e3:.1f} | {f:.2f}x | "
              f"{r['direct fwd+bwd'] * 1e3:.1f} | {r['spectral fwd+bwd'] * 1e3:.1f} | {fb:.2f}x | "
              f"{r['err']['direct']:.1e} | {r['err']['spectral']:.1e} | {rule} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="two tiny shapes (a smoke run)")
    ap.add_argument("--tuned-malloc", action="store_true",
                    help="skelzoo.runtime.tune_allocator() first (what the skelzoo command line sets)")
    args = ap.parse_args()
    if args.tuned_malloc:
        from skelzoo.runtime import tune_allocator
        tune_allocator()
    rs = []
    for th in (int(v) for v in args.threads.split(",")):
        rs += rows(th, args.repeats, QUICK if args.quick else SHAPES)
    print_table(rs, args.repeats)


if __name__ == "__main__":
    main()
