"""Store bundled checkpoints as float16 where their outputs agree with float32 (issue #17: wheel size).

For every bundled checkpoint matching ``--pattern`` the float32 model and the same model with float16-rounded
weights run on the README example recording (the 2-D version for ``coco17`` weights); the file is rewritten
in float16 when

- localizers: every frame keeps its argmax label and no frame probability moves by more than
  :data:`FP16_TOLERANCE` (0.01);
- encoders / classifiers: the pooled features (or logits) move by at most :data:`FP16_TOLERANCE` relative to
  their largest magnitude.

``skelzoo`` loads float16 files into float32 models (the loader copies into the model's own dtype), so
users see float32 either way. The new sha256 of each rewritten file is printed: put it into the weight
table (``skelzoo/models/*.py``); the registry refuses a file whose hash differs. A table of the measured
agreement is printed (``--json`` for a file).

Usage::

    python scripts/bundle_float16.py --dry-run            # measure only
    python scripts/bundle_float16.py --pattern "stgcn_ssl*"
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import torch

#: the largest allowed change of a frame probability (localizers) or of a relative feature (encoders); every
#: frame must also keep its argmax label. The localizers' test metrics are re-measured with the stored weights
FP16_TOLERANCE = 1e-2


def example_input(model: torch.nn.Module) -> torch.Tensor:
    """The README example recording as ``model`` expects it (its own preprocessing and frame rate)."""
    import skelzoo
    from skelzoo.data.synth import example_sequence, example_sequence_2d

    layout = getattr(model, "layout", "ntu25")
    seq, _ = example_sequence_2d() if layout == "coco17" else example_sequence()
    x, _ = skelzoo.prepare(seq, model)
    return x


def fp16_agreement(model: torch.nn.Module, state: dict[str, torch.Tensor], localizer: bool) -> dict[str, float]:
    """How far float16-rounded weights move ``model``'s outputs on the README example.

    Localizers: max |Δ probability| over frames and classes, and the fraction of frames whose argmax label is
    unchanged. Others: max |Δ| of the pooled features (``forward_features``) relative to their largest
    magnitude.
    """
    x = example_input(model)
    half = copy.deepcopy(model)
    half.load_state_dict({k: (v.half().float() if v.is_floating_point() else v) for k, v in state.items()})
    model.eval(), half.eval()
    with torch.no_grad():
        if localizer:
            a, b = model(x).softmax(-1), half(x).softmax(-1)
            return {"max_abs_prob_diff": float((a - b).abs().max()),
                    "label_agreement": float((a.argmax(-1) == b.argmax(-1)).float().mean())}
        a, b = model.forward_features(x), half.forward_features(x)
        return {"max_rel_feature_diff": float((a - b).abs().max() / a.abs().max())}


def within_tolerance(agreement: dict[str, float]) -> bool:
    return all(v <= FP16_TOLERANCE for k, v in agreement.items() if k.startswith("max_")) and \
        agreement.get("label_agreement", 1.0) == 1.0


def sha256(path: Path) -> str:
    from skelzoo.hub.cache import sha256_file
    return sha256_file(path)


def write_weights(state: dict[str, torch.Tensor], path: Path, half: bool) -> None:
    """Write ``state`` to ``path`` (float16 floating tensors when ``half``), atomically, readable by all."""
    from safetensors.torch import save_file

    out = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in state.items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(out, str(tmp), metadata={"format": "pt", "skelzoo_storage_dtype": "float16" if half else "float32"})
    tmp.chmod(0o644)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pattern", default="*", help="fnmatch pattern of arch.tag names (default: every bundled one)")
    p.add_argument("--dry-run", action="store_true", help="measure and report; write nothing")
    p.add_argument("--json", type=Path, help="also write the measurements here")
    args = p.parse_args(argv)

    import skelzoo
    from skelzoo.models import get_entry, list_models, split_name
    from skelzoo.models._builder import ASSETS

    rows: list[dict[str, Any]] = []
    for name in list_models(args.pattern, pretrained=True):
        arch, tag = split_name(name)
        entry = get_entry(arch)
        w = entry.weights[tag]
        if not w.file:
            continue
        path = ASSETS / w.file
        model = skelzoo.load_model(name, pretrained=True)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        stored = {str(v.dtype) for v in skelzoo.models._builder._read_safetensors(path).values()
                  if v.is_floating_point()}
        agreement = fp16_agreement(model, state, entry.task == "localization")
        ok = within_tolerance(agreement)
        row = {"name": name, "stored": ",".join(sorted(stored)), "bytes": path.stat().st_size, **agreement,
               "float16": ok}
        if ok and stored != {"torch.float16"} and not args.dry_run:
            write_weights(state, path, half=True)
            row["new_bytes"], row["new_sha256"] = path.stat().st_size, sha256(path)
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = sum(r.get("new_bytes", r["bytes"]) for r in rows)
    print(f"bundled total: {total / 1e6:.2f} MB ({len(rows)} files)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
