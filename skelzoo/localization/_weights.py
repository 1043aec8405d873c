"""Weights of the localization architectures (``<backbone>_ufusion`` / ``_simple``), by architecture.

:data:`DEFAULT_LOCALIZER` (``stgcn_ssl_ufusion.snipclr_bandai``) is skelzoo's bundled default localizer (the
model of ``skelzoo localize``): the SnipCLR-pretrained quarter-width ST-GCN (second pretraining recipe) with
the U-fusion neck, finetuned on the Bandai-Namco untrimmed benchmark (``docs/results.md``). ``agcn_loc_ufusion.bandai_w32``
(the earlier default, a reduced-width AGCN-10 trained from scratch) stays available. How each was made is
in its model card. Metrics are the last epoch's, measured on the unseen-style test split (125 sequences),
segment mAP averaged over tIoU 0.1-0.5.
"""
from __future__ import annotations

from ..zoo._weights import WeightCfg

__all__ = ["LOCALIZER_WEIGHTS", "BANDAI_CLASSES", "DEFAULT_LOCALIZER"]

#: the model of ``skelzoo localize`` when ``--model`` is not given
DEFAULT_LOCALIZER = "stgcn_ssl_ufusion.snipclr_bandai"

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
            description="AGCN-10 at base width 32 + U-fusion neck (128 channels), from scratch, 10 Bandai-Namco "
                        "actions + background (skelzoo's first bundled default localizer)",
            default=True,
        ),
    ),
    "stgcn_ssl_ufusion": (
        WeightCfg(
            tag="snipclr_bandai",
            file="stgcn_ssl_ufusion.snipclr_bandai.safetensors",
            sha256="431c4e6a95be91ff3f186172417c16f9ceaa3424e3397cccadf68b9dad328d0d",
            license="CC-BY-NC-4.0",
            source="trained by skelzoo: skelzoo finetune --config examples/configs/ablation/localizer_v2.yaml "
                   "from the encoder stgcn_ssl.snipclr_bandai (12 CPU epochs, seed 0; the last epoch, which is also "
                   "the best on the validation style); docs/results.md",
            dataset="Bandai-Namco untrimmed (skelzoo), train split without the validation style exhausted",
            eval_dataset="Bandai-Namco untrimmed (skelzoo), test styles elderly+youthful",
            metrics={"mAP_clean_avg_0.1-0.5": 60.43, "mAP_line_avg_0.1-0.5": 60.31, "mAP_clean@0.5": 53.07,
                     "F1@50": 16.86, "frame_accuracy": 50.79},
            class_names=BANDAI_CLASSES,
            layout="ntu25",
            num_person=1,
            fps=30.0,
            preprocess="ntu_bodysize",
            model_args={"num_classes": 10},
            paper="SnipCLR (arXiv 2512.16504): snippet-contrast pretrained encoder + U-shaped multiscale fusion neck",
            description="bundled default localizer: SnipCLR-pretrained quarter-width ST-GCN + U-fusion neck "
                        "(512 channels), 10 Bandai-Namco actions + background",
            default=True,
        ),
    ),
}
