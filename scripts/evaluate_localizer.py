"""Per-class evaluation of localizers on a prepared untrimmed benchmark split (e.g. the Bandai test split).

For each model (registered name, ``local-dir:PATH`` or a folder): segment mAP (clean and line protocols,
tIoU 0.1-0.5 and average), F1@50, frame accuracy and foreground-frame accuracy; per class: AP averaged over
the thresholds (clean) and frame recall; and the confusion between the walk classes (rows: true class,
columns: predicted class, % of the true class's frames). The model's own preprocessing beyond what the
prepared data already carries (``ntu_bodysize``: body-size normalisation) is applied.

Usage::

    python scripts/evaluate_localizer.py stgcn_ssl_ufusion.snipclr_bandai runs/v2/localizer_snipclr/model \\
        --data data/bu_val --split test --json runs/v2/eval_test.json
"""
from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch


def load(spec: str):
    import skelzoo
    p = Path(spec.removeprefix("local-dir:"))
    return skelzoo.load_model(f"local-dir:{p}" if p.is_dir() else spec)


@torch.no_grad()
def evaluate(model, data: str, split: str, batch_size: int = 4) -> dict:
    from torch.utils.data import DataLoader

    from skelzoo.data.collate import collate_untrimmed
    from skelzoo.data.datasets import UntrimmedDataset
    from skelzoo.data.transforms import body_size_transform
    from skelzoo.training.finetune import collect_frames, localization_metrics, segment_map_results

    tf = body_size_transform if getattr(model, "preprocess", "") == "ntu_bodysize" else None
    ds = UntrimmedDataset(data, split, max_len=None, random_crop=False, seed=0, num_persons=1, transform=tf)
    names = list(ds.class_names)
    k = len(names)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=partial(collate_untrimmed))
    cas, gts, preds = collect_frames(model, loader, device=torch.device("cpu"), num_classes=k)
    results = segment_map_results(cas, gts, k)
    overall = localization_metrics(results, gts, preds, k)
    ap = np.asarray(results["clean"].ap)                                    # (H, C)
    per_class_ap = {names[c]: float(100 * ap[:, i].mean()) for i, c in enumerate(results["clean"].classes)}
    recall = {names[c]: overall[f"recall_{c}"] for c in range(k) if f"recall_{c}" in overall}
    g, p = np.concatenate(gts), np.concatenate(preds)
    walk = [names.index(n) for n in ("walk", "walk-turn-left", "walk-turn-right") if n in names]

    def pct(t: int, q: int) -> float:
        return float(100 * (p[g == t] == q).mean())

    confusion = {names[t]: {**{names[q]: pct(t, q) for q in walk}, "background": pct(t, k)} for t in walk}
    return {"overall": overall, "foreground_accuracy": overall["accuracy_foreground"],
            "per_class_ap": per_class_ap, "frame_recall": recall, "walk_confusion": confusion,
            "class_names": names}


def whole_clips(model, parsed: str, styles: list[str]) -> dict:
    """Each dataset-2 clip of ``styles`` as its own recording (raw world coordinates from the parse cache,
    through the public path a user takes: ``localize_sequence`` with the CLI's decoder): per class, the
    fraction of the clips' frames covered by a segment of the clip's own class, and which class covers most."""
    from skelzoo.data.prepare import PreparedDataset
    from skelzoo.io.sequence import SkeletonSequence
    from skelzoo.localization.pipeline import localize_sequence

    ds = PreparedDataset(parsed)
    names = list(model.class_names)
    hit: dict[str, list[float]] = {}
    cover: dict[str, dict[str, float]] = {}
    for i in range(ds.num_sequences("dataset-2")):
        m = ds.meta("dataset-2", i)
        if m["style"] not in styles or m["content"] not in names:
            continue
        data, _ = ds.get("dataset-2", i)
        res = localize_sequence(model, SkeletonSequence(data, ds.layout, ds.fps), method="argmax", smoothing=5,
                                min_duration=8)
        frames = np.full(len(data), -1)
        for sg in res.segments:
            frames[sg.start:sg.end] = sg.label
        hit.setdefault(m["content"], []).append(float((frames == names.index(m["content"])).mean()))
        c = cover.setdefault(m["content"], {})
        for lab in np.unique(frames):
            key = names[lab] if lab >= 0 else "none"
            c[key] = c.get(key, 0.0) + float((frames == lab).sum())
    out = {}
    for cls, v in hit.items():
        tot = sum(cover[cls].values())
        top = max(cover[cls], key=cover[cls].get)
        out[cls] = {"clips": len(v), "own_class_frames": 100 * float(np.mean(v)),
                    "most_frames": top, "most_frames_pct": 100 * cover[cls][top] / tot}
    return out


def readme_example(model) -> dict:
    """The README example (``skelzoo localize --example``; for a 2-D model the same recording filmed in 2-D,
    ``skelzoo.data.synth.example_sequence_2d``): % of the frames of each scripted action covered by a segment of
    that name (``idle`` frames: % covered by no segment)."""
    from skelzoo.data.synth import example_sequence, example_sequence_2d
    from skelzoo.localization.pipeline import localize_sequence

    seq, labels = example_sequence_2d() if model.input_spec.layout == "coco17" else example_sequence()
    res = localize_sequence(model, seq, method="argmax", smoothing=5, min_duration=8)
    pred = np.array(["none"] * seq.num_frames, dtype=object)
    for sg in res.segments:
        pred[sg.start:sg.end] = sg.name
    lab = np.array(labels, dtype=object)
    out = {}
    for action in dict.fromkeys(labels):
        want = "none" if action == "idle" else action
        out[action] = 100 * float((pred[lab == action] == want).mean())
    out["segments"] = [(sg.name, sg.start, sg.end, round(float(sg.score), 3)) for sg in res.segments]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", default="data/bu_val")
    ap.add_argument("--split", default="test")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--clips", default=None, help="Bandai parse cache (OUT/parsed) for the whole-clip check")
    ap.add_argument("--clip-styles", default="exhausted", help="styles of the whole-clip check (validation)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = {}
    for spec in args.models:
        model = load(spec)
        rows[spec] = evaluate(model, args.data, args.split)
        rows[spec]["readme_example"] = readme_example(model)
        if args.clips:
            rows[spec]["whole_clips"] = whole_clips(model, args.clips, args.clip_styles.split(","))
    print(f"## {args.data} split {args.split}\n")
    print("| model | mAP clean avg | mAP line avg | mAP clean@0.5 | F1@50 | frame acc | foreground acc |")
    print("|---|---|---|---|---|---|---|")
    for spec, r in rows.items():
        o = r["overall"]
        print(f"| `{spec}` | {o['map_clean_avg']:.2f} | {o['map_line_avg']:.2f} | {o['map_clean@0.5']:.2f} | "
              f"{o['F1@50']:.2f} | {o['accuracy']:.2f} | {r['foreground_accuracy']:.2f} |")
    names = next(iter(rows.values()))["class_names"]
    for title, key in (("AP per class (clean, mean over tIoU 0.1-0.5)", "per_class_ap"),
                       ("frame recall per class (%)", "frame_recall")):
        print(f"\n{title}:\n\n| model | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for spec, r in rows.items():
            print(f"| `{spec}` | " + " | ".join(f"{r[key].get(n, float('nan')):.1f}" for n in names) + " |")
    print("\nwalk confusion (% of the true class's frames):\n")
    for spec, r in rows.items():
        cols = list(next(iter(r["walk_confusion"].values())).keys())
        print(f"`{spec}`\n\n| true \\ predicted | " + " | ".join(cols) + " |")
        print("|---|" + "---|" * len(cols))
        for t, row in r["walk_confusion"].items():
            print(f"| {t} | " + " | ".join(f"{row[c]:.1f}" for c in cols) + " |")
        print()
    print("README example: % of each scripted action's frames labelled with its name (idle: no segment)\n")
    acts = [a for a in next(iter(rows.values()))["readme_example"] if a != "segments"]
    print("| model | " + " | ".join(acts) + " |\n|---|" + "---|" * len(acts))
    for spec, r in rows.items():
        print(f"| `{spec}` | " + " | ".join(f"{r['readme_example'][a]:.0f}" for a in acts) + " |")
    if args.clips:
        print(f"\nwhole clips of styles {args.clip_styles} (each clip one recording, CLI decoder): % of frames "
              "in a segment of the clip's class; class covering most frames\n")
        print("| model | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
        for spec, r in rows.items():
            wc = r["whole_clips"]
            print(f"| `{spec}` | " + " | ".join(
                f"{wc[n]['own_class_frames']:.0f} ({wc[n]['most_frames']})" if n in wc else "-" for n in names) + " |")
    if args.json:
        args.json.write_text(json.dumps({"data": args.data, "split": args.split, "models": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
