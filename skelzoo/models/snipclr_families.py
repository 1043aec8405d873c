"""Snippet-contrast encoders and U-fusion localizers for every backbone family (the backbone comparison).

``scripts/family_campaign.py`` trains, per family (AGCN-10, AAGCN, CTR-GCN, STGCN++, MS-G3D; ST-GCN's pair is
:data:`skelzoo.models.stgcn.STGCN_SSL_WEIGHTS` / the default localizer), a SnipCLR encoder with the second
pretraining recipe and a U-fusion localizer finetuned from it, both at a reduced (quarter) width, and writes
their weights to ``skelzoo/assets`` with one manifest, ``assets/snipclr_families.json``. This module turns
the manifest's records into registry entries: ``<backbone>.<tag>`` (encoder, task ``features``) and
``<backbone>_ufusion.<tag>`` (localizer), the tag naming the width (``snipclr_bandai_w16``). Each record
holds the file, its sha256, the storage dtype (float16 where the campaign measured the outputs to agree
with float32, converted to float32 on load), the metrics, the width and the model arguments.

Imported by :mod:`skelzoo.models` after the localizers (it adds weights to their entries).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ._registry import get_entry
from ._weights import WeightCfg

__all__ = ["MANIFEST", "family_weights", "register_family_weights"]

MANIFEST = Path(__file__).resolve().parents[1] / "assets" / "snipclr_families.json"
_LICENSE = "CC-BY-NC-4.0"
_PAPER = "SnipCLR (arXiv 2512.16504): snippet-contrast pretraining"
_TRAIN = ("Bandai-Namco datasets 1+2 (skelzoo bandai-clips + bandai-untrimmed), training styles without the "
          "validation style exhausted, labels unused")
_LOC_TRAIN = "Bandai-Namco untrimmed (skelzoo), train split without the validation style exhausted"
_LOC_TEST = "Bandai-Namco untrimmed (skelzoo), test styles elderly+youthful"


def family_weights(record: Mapping[str, Any]) -> tuple[str, WeightCfg]:
    """``(architecture, WeightCfg)`` of one manifest record."""
    arch, kind = record["arch"], record["kind"]
    if kind not in ("encoder", "localizer"):
        raise ValueError(f"{MANIFEST.name}: {arch}.{record.get('tag')}: kind must be encoder or localizer")
    common: dict[str, Any] = dict(
        tag=record["tag"], file=record["file"], sha256=record["sha256"], license=_LICENSE,
        metrics=dict(record["metrics"]), layout="ntu25", in_channels=3, num_person=1, fps=30.0,
        preprocess="ntu_bodysize", model_args=dict(record["model_args"]))
    if kind == "encoder" and record.get("probe"):  # the shipping gate's evidence (validation probes, over seeds)
        for probe in ("knn1", "linear"):
            pr = record["probe"][probe]
            common["metrics"][f"val_probe_{probe}_mean"] = pr["pretrained_mean"]
            common["metrics"][f"val_probe_{probe}_random_mean"] = pr["random_mean"]
    width = record["width"]
    stored = f"stored as {record['dtype']}"
    sets = "".join(f", {kv}" for kv in record.get("pretrain_sets") or ())
    if kind == "encoder":
        return arch, WeightCfg(
            **common, dataset=_TRAIN, eval_dataset="Bandai-Namco clips, validation style exhausted",
            source="trained by skelzoo: scripts/family_campaign.py (examples/configs/ablation/pretrain_v2.yaml, "
                   f"model.backbone={arch}{sets}, seed 0; the epoch with the best validation kNN); {stored}",
            paper=f"{_PAPER}, {width}",
            description=f"SnipCLR-pretrained {arch} encoder at {width.split(' (')[0]} "
                        f"({record['params']:,} parameters), Bandai-Namco mocap, features only")
    return arch, WeightCfg(
        **common, dataset=_LOC_TRAIN, eval_dataset=_LOC_TEST, class_names=tuple(record["class_names"]),
        source="trained by skelzoo: scripts/family_campaign.py (examples/configs/ablation/localizer_v2.yaml from "
               f"the SnipCLR encoder of the same tag, seed 0; the epoch with the best validation mAP, epoch "
               f"{record.get('best_epoch')}); {stored}",
        paper=f"{_PAPER} + U-shaped multiscale fusion neck, {width}",
        description=f"SnipCLR-pretrained {arch[:-len('_ufusion')]} at {width.split(' (')[0]} + U-fusion neck "
                    f"({record['params']:,} parameters), 10 Bandai-Namco actions + background")


def register_family_weights(path: Path = MANIFEST) -> list[str]:
    """Add every record of the manifest to its architecture's weights; returns the ``arch.tag`` names."""
    if not path.is_file():
        return []
    names = []
    for record in json.loads(path.read_text())["checkpoints"]:
        arch, w = family_weights(record)
        entry = get_entry(arch)
        if w.tag in entry.weights:
            raise ValueError(f"{path.name}: {arch}.{w.tag} is registered twice")
        entry.weights[w.tag] = w
        names.append(f"{arch}.{w.tag}")
    return names


register_family_weights()
