"""Weights of the localization architectures (``<backbone>_ufusion`` / ``_simple``), by architecture.

``agcn_loc_ufusion.bandai_w32`` is skelzoo's bundled default localizer (the model of ``skelzoo localize``):
trained by skelzoo on the Bandai-Namco untrimmed benchmark; how exactly is in its model card
(``model_cards/agcn_loc_ufusion.bandai_w32.md``). Metrics are the last epoch's, measured on the unseen-style
test split (125 sequences), segment mAP averaged over tIoU 0.1-0.5.
"""
from __future__ import annotations

from ..zoo._weights import WeightCfg

__all__ = ["LOCALIZER_WEIGHTS", "BANDAI_CLASSES"]

#: the 10 content classes of Bandai-Namco Research Motion dataset 2 (its ``cfg/content_label.txt`` order)
BANDAI_CLASSES = (
    "walk", "walk-turn-left", "walk-turn-right", "run", "wave-both-hands", "wave-left-hand",
    "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand",
)

LOCALIZER_WEIGHTS: dict[str, tuple[WeightCfg, ...]] = {
    "agcn_loc_ufusion": (
        WeightCfg(
            tag="bandai_w32",
            file="agcn_loc_ufusion.bandai_w32.safetensors",
            sha256="2a52332e86cfd10fb959ae79b4829cb028319a65b5035d2bd6998503671e57e5",
            license="CC-BY-NC-4.0",
            source="trained by skelzoo: examples/configs/default_localizer.yaml on the Bandai-Namco untrimmed "
                   "benchmark (skelzoo data prepare bandai-untrimmed, seed 0), from scratch, 8 CPU epochs, last epoch",
            dataset="Bandai-Namco untrimmed (skelzoo), test styles elderly+youthful",
            metrics={"mAP_clean_avg_0.1-0.5": 57.61, "mAP_line_avg_0.1-0.5": 57.42, "mAP_clean@0.5": 49.76,
                     "F1@50": 18.20, "frame_accuracy": 48.31},
            class_names=BANDAI_CLASSES,
            layout="ntu25",
            num_person=1,
            fps=30.0,
            preprocess="ntu",
            model_args={"backbone_args": {"base_channels": 32}, "neck_channels": 128, "num_classes": 10},
            paper="SnipCLR (arXiv 2512.16504): AGCN-10 encoder + U-shaped multiscale fusion neck, reduced width",
            description="bundled default localizer: AGCN-10 at base width 32 + U-fusion neck (128 channels), "
                        "10 Bandai-Namco actions + background",
            default=True,
        ),
    ),
}
