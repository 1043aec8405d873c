"""Registration of every localization architecture: ``<backbone>_ufusion`` and ``<backbone>_simple``.

Paper: Q. Cheng, J. Liu, C. Morgan, A. Whone, M. Mirmehdi, "Skeleton-Snippet Contrastive Learning with
Multiscale Feature Fusion for Action Localization", arXiv 2512.16504 (ICPR 2026); official code
github.com/cqs0925/SnipCLR (licence as stated in that repository; no code copied), built on
github.com/line/Skeleton-Temporal-Action-Localization (Apache-2.0).

For every backbone architecture registered before this module is imported (``skelzoo.models`` imports the
backbone families first), two builders are generated:

- ``<backbone>_ufusion``: backbone + SnipCLR U-shaped multiscale fusion neck + frame head. The paper model
  is ``agcn_loc_ufusion`` (AGCN-10, taps l1/l7/l10, 5,705,315 parameters with 4 classes: backbone
  3,458,078 + neck 2,244,672 + ``fc_loc`` 2,565; the official count 5,705,415 also holds the unused
  100-wide data-BN, which skelzoo does not build).
- ``<backbone>_simple``: the paper's baseline head (last stage -> Linear -> linear interpolation).

Builder arguments (all JSON-able, so ``save_pretrained`` / ``load_model("local-dir:...")`` round-trip):
``in_channels=3``, ``num_classes=4`` (the BABEL subsets of the paper: 4 action classes; K = 5 outputs
with background last), ``layout=None`` (the backbone's own default layout), ``num_person=1`` (the paper
uses one person; for backbones with per-person data-BN this sizes it for M = 1), ``backbone_args``
(extra keyword arguments of the backbone builder, e.g. ``{"base_channels": 32}``), ``taps`` (``_ufusion``
only; default: the rule of :func:`skelzoo.localization.localizer.select_taps`), ``neck_channels=512``,
``dropout=0.0`` (before the frame head) and ``class_names``.

Converter: ``agcn_loc_ufusion`` from the official SnipCLR finetuning checkpoint
(``model.agcn_Unet.Model`` state dict: ``l{1..10}.*`` via the ``agcn_loc`` key map, ``msff.*`` ->
``neck.*``, ``fc_loc.*`` -> ``head.*``; the unused ``data_bn.*`` is ignored).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch

from ..localization.localizer import Localizer
from ._convert import Converter
from ._registry import get_converter, get_entry, list_architectures, register_converter, register_model
from ._weights import WeightCfg

__all__ = ["build_localizer", "LOCALIZER_SUFFIXES", "LOCALIZER_WEIGHTS", "BANDAI_CLASSES", "BANDAI_TORSO",
           "DEFAULT_LOCALIZER", "DEFAULT_LOCALIZER_2D"]

LOCALIZER_SUFFIXES = ("_ufusion", "_simple")
_PAPER = ("SnipCLR: Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action "
          "Localization (arXiv 2512.16504)")


# ---------------------------------------------------------------------------------------------- weights
# Weights of the localization architectures (``<backbone>_ufusion`` / ``_simple``), by architecture.
#
# :data:`DEFAULT_LOCALIZER` (``stgcn_ssl_ufusion.snipclr_bandai``) is skelzoo's bundled default localizer (the
# model of ``skelzoo localize``): the SnipCLR-pretrained quarter-width ST-GCN (second pretraining recipe) with
# the U-fusion neck, finetuned on the Bandai-Namco untrimmed benchmark (``docs/results.md``).
# ``agcn_loc_ufusion.bandai_w32`` (the earlier default, a reduced-width AGCN-10 trained from scratch) stays
# available. How each was made is in its model card. Metrics are the last epoch's, measured on the unseen-style
# test split (125 sequences), segment mAP averaged over tIoU 0.1-0.5.

#: the model of ``skelzoo localize`` when ``--model`` is not given: the quarter-width STGCN++ of the backbone
#: table (``snipclr_families``), the best family on the validation style among those that label the README
#: example's walks ``walk`` (docs/results.md "Backbone table"); ``stgcn_ssl_ufusion.snipclr_bandai`` was the
#: default before it
DEFAULT_LOCALIZER = "stgcnpp_ufusion.snipclr_bandai_w16"
#: the same for 2-D keypoints (a video pose estimator's output): the COCO-17 version of the default
DEFAULT_LOCALIZER_2D = "stgcn_ssl_ufusion.snipclr_bandai2d"

#: the 10 content classes of Bandai-Namco Research Motion dataset 2 (its ``cfg/content_label.txt`` order)
BANDAI_CLASSES = (
    "walk", "walk-turn-left", "walk-turn-right", "run", "wave-both-hands", "wave-left-hand",
    "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand",
)

#: median torso length (SpineBase -> SpineShoulder, metres) of the Bandai-Namco mocap rig after the NTU
#: pre-normalisation (measured on the prepared training sequences: 0.2468-0.2473): weights trained on it with
#: preprocessing ``ntu`` (no rescaling) warn about bodies of other sizes
BANDAI_TORSO = 0.247

LOCALIZER_WEIGHTS: dict[str, tuple[WeightCfg, ...]] = {
    "agcn_loc_ufusion": (
        WeightCfg(
            tag="bandai_w32",
            file="agcn_loc_ufusion.bandai_w32.safetensors",
            sha256="36442834cf1bc8e6ae50125d31c91ba378f402a4d26c0410b717e0f7e955e0b2",
            license="CC-BY-NC-4.0",
            source="trained by skelzoo: examples/configs/default_localizer.yaml on the Bandai-Namco untrimmed "
                   "benchmark (skelzoo data prepare bandai-untrimmed, seed 0), from scratch, 8 CPU epochs, last epoch",
            dataset="Bandai-Namco untrimmed (skelzoo), test styles elderly+youthful",
            # measured with the bundled float16-stored weights (float32: 57.61 / 57.42 / 49.76 / 18.20 / 48.31)
            metrics={"mAP_clean_avg_0.1-0.5": 57.63, "mAP_line_avg_0.1-0.5": 57.44, "mAP_clean@0.5": 49.77,
                     "F1@50": 18.18, "frame_accuracy": 48.32},
            class_names=BANDAI_CLASSES,
            layout="ntu25",
            num_person=1,
            fps=30.0,
            preprocess="ntu",
            torso=BANDAI_TORSO,
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
            sha256="3d6244969d3f5754be8632248c6077d7f6f042a41fad81a9bd47e6668abcb062",
            license="CC-BY-NC-4.0",
            source="trained by skelzoo: skelzoo finetune --config examples/configs/ablation/localizer_v2.yaml "
                   "from the encoder stgcn_ssl.snipclr_bandai (not shipped: fails the probe gate; "
                   "12 CPU epochs, seed 0; the last epoch, which is also "
                   "the best on the validation style); docs/results.md",
            dataset="Bandai-Namco untrimmed (skelzoo), train split without the validation style exhausted",
            eval_dataset="Bandai-Namco untrimmed (skelzoo), test styles elderly+youthful",
            # measured with the bundled float16-stored weights (float32 training weights: 60.43 / 60.31 /
            # 53.07 / 16.86 / 50.79; docs/results.md "Float16 storage")
            metrics={"mAP_clean_avg_0.1-0.5": 60.43, "mAP_line_avg_0.1-0.5": 60.30, "mAP_clean@0.5": 53.07,
                     "F1@50": 16.93, "frame_accuracy": 50.78},
            class_names=BANDAI_CLASSES,
            layout="ntu25",
            num_person=1,
            fps=30.0,
            preprocess="ntu_bodysize",
            model_args={"num_classes": 10},
            paper="SnipCLR (arXiv 2512.16504): snippet-contrast pretrained encoder + U-shaped multiscale fusion neck",
            description="SnipCLR-pretrained quarter-width ST-GCN + U-fusion neck (512 channels), 10 Bandai-Namco "
                        "actions + background (skelzoo's default localizer before stgcnpp_ufusion.snipclr_bandai_w16)",
            default=True,
        ),
        WeightCfg(
            tag="snipclr_bandai2d",
            file="stgcn_ssl_ufusion.snipclr_bandai2d.safetensors",
            sha256="a76a8cbac636d1d744bddf55cdf8360600eef91f91e0ab5b3e5fcd72635d5849",
            license="CC-BY-NC-4.0",
            source="trained by skelzoo: skelzoo finetune --config examples/configs/ablation/localizer_2d.yaml "
                   "from the encoder stgcn_ssl.snipclr_bandai2d (not shipped: never probed; "
                   "12 CPU epochs, seed 0; the best epoch on the "
                   "validation style and views, epoch 8); docs/results.md",
            dataset="Bandai-Namco untrimmed 2-D (skelzoo), train split (training styles without exhausted, "
                    "training camera azimuths)",
            eval_dataset="Bandai-Namco untrimmed 2-D (skelzoo), test styles elderly+youthful from unseen camera "
                         "azimuths",
            metrics={"mAP_clean_avg_0.1-0.5": 67.51, "mAP_line_avg_0.1-0.5": 67.56, "mAP_clean@0.5": 58.56,
                     "F1@50": 16.97, "frame_accuracy": 52.26},
            class_names=BANDAI_CLASSES,
            layout="coco17",
            in_channels=3,
            num_person=1,
            fps=30.0,
            preprocess="coco2d",
            model_args={"num_classes": 10, "layout": "coco17", "in_channels": 3},
            paper="SnipCLR (arXiv 2512.16504): snippet-contrast pretrained encoder + U-shaped multiscale fusion neck",
            description="bundled 2-D default localizer (2-D keypoints of a video pose estimator, COCO-17 x, y, "
                        "score): SnipCLR-pretrained quarter-width ST-GCN + U-fusion neck, 10 Bandai-Namco actions "
                        "+ background",
        ),
    ),
}


def build_localizer(backbone: str, neck: str = "ufusion", *, in_channels: int = 3, num_classes: int = 4,
                    layout: str | None = None, num_person: int = 1,
                    backbone_args: Mapping[str, Any] | None = None, taps: Sequence[int] | None = None,
                    neck_channels: int = 512, dropout: float = 0.0,
                    class_names: Sequence[str] | None = None) -> Localizer:
    """Build a :class:`Localizer` on registered backbone ``backbone`` (random init).

    ``backbone_args`` are passed to the backbone builder (its classifier is disabled with
    ``num_classes=0``); ``in_channels``, ``layout`` (None = the backbone's default) and ``num_person``
    are passed too.
    """
    args: dict[str, Any] = dict(backbone_args or {})
    for k in ("num_classes",):
        if k in args:
            raise ValueError(f"backbone_args may not set {k!r}: the localizer's frame head replaces the classifier")
    args.update(in_channels=in_channels, num_person=num_person, num_classes=0)
    if layout is not None:
        args["layout"] = layout
    bb = get_entry(backbone).builder(**args)
    kw: dict[str, Any] = dict(num_classes=num_classes, neck=neck, dropout=dropout, class_names=class_names)
    if neck == "ufusion":
        kw.update(taps=taps, neck_channels=neck_channels)
    elif taps is not None:
        raise ValueError("taps are only used by the U-fusion neck")
    return Localizer(bb, **kw)


def _make_builder(backbone: str, neck: str) -> Callable[..., Localizer]:
    if neck == "ufusion":
        def builder(in_channels: int = 3, num_classes: int = 4, layout: str | None = None, num_person: int = 1,
                    backbone_args: dict[str, Any] | None = None, taps: Sequence[int] | None = None,
                    neck_channels: int = 512, dropout: float = 0.0,
                    class_names: Sequence[str] | None = None) -> Localizer:
            return build_localizer(backbone, "ufusion", in_channels=in_channels, num_classes=num_classes,
                                   layout=layout, num_person=num_person, backbone_args=backbone_args,
                                   taps=taps, neck_channels=neck_channels, dropout=dropout,
                                   class_names=class_names)
        what = "SnipCLR U-shaped multiscale fusion neck (3 taps -> 512) + frame head"
    else:
        def builder(in_channels: int = 3, num_classes: int = 4, layout: str | None = None,  # type: ignore[misc]
                    num_person: int = 1, backbone_args: dict[str, Any] | None = None, dropout: float = 0.0,
                    class_names: Sequence[str] | None = None) -> Localizer:
            return build_localizer(backbone, "simple", in_channels=in_channels, num_classes=num_classes,
                                   layout=layout, num_person=num_person, backbone_args=backbone_args,
                                   dropout=dropout, class_names=class_names)
        what = "simple head (last stage -> Linear -> linear interpolation to T), the paper's baseline"
    name = f"{backbone}{'_' + neck}"
    builder.__name__ = builder.__qualname__ = name
    builder.__module__ = __name__
    builder.__doc__ = (f"Localizer: ``{backbone}`` backbone + {what}. Input ``(N, C, T, V, M)``, frame logits "
                       f"``(N, T, num_classes + 1)`` with background last. Arguments: see "
                       f":mod:`skelzoo.models.localizers`.")
    paper = _PAPER if neck == "ufusion" else _PAPER + " - baseline simple head"
    return register_model(task="localization", paper=paper, weights=LOCALIZER_WEIGHTS.get(name, ()))(builder)


def _register_all() -> list[str]:
    names = []
    for arch in list_architectures():
        if get_entry(arch).task == "localization" or arch.endswith(LOCALIZER_SUFFIXES):
            continue
        for neck in ("ufusion", "simple"):
            if f"{arch}_{neck}" in list_architectures():
                continue
            _make_builder(arch, neck)
            names.append(f"{arch}_{neck}")
    return names


_register_all()


# ---------------------------------------------------------------------------------------------- converter
def _snipclr_key(key: str) -> str | None:
    """skelzoo ``agcn_loc_ufusion`` key -> SnipCLR ``model.agcn_Unet.Model`` key."""
    if key.startswith("backbone."):
        return get_converter("agcn_loc", "official").key_map(key[len("backbone."):])
    if key.startswith("neck."):
        return "msff." + key[len("neck."):]
    if key.startswith("head."):
        return "fc_loc." + key[len("head."):]
    raise KeyError(f"agcn_loc_ufusion converter: no official name for {key!r}")


def _snipclr_to_skelzoo(key: str, t: torch.Tensor) -> torch.Tensor:
    if key.startswith("backbone."):
        return get_converter("agcn_loc", "official").to_skelzoo(key[len("backbone."):], t)
    return t


def _snipclr_to_source(key: str, t: torch.Tensor) -> torch.Tensor:
    if key.startswith("backbone."):
        return get_converter("agcn_loc", "official").to_source(key[len("backbone."):], t)
    return t


def _snipclr_args(sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    base = dict(get_converter("agcn_loc", "official").model_args(sd))
    base.pop("num_classes", None)
    args: dict[str, Any] = {k: v for k, v in base.items() if k in ("in_channels", "num_person", "layout")}
    extra = {k: v for k, v in base.items() if k not in args}
    if extra:
        args["backbone_args"] = extra
    if "fc_loc.weight" in sd:
        args["num_classes"] = int(sd["fc_loc.weight"].shape[0]) - 1
    if "msff.final.weight" in sd:
        args["neck_channels"] = int(sd["msff.final.weight"].shape[0])
    return args


register_converter(Converter(
    arch="agcn_loc_ufusion", source="official", key_map=_snipclr_key,
    to_skelzoo=_snipclr_to_skelzoo, to_source=_snipclr_to_source,
    ignore=(r"^data_bn\.",),
    model_args=_snipclr_args,
    description="cqs0925/SnipCLR model.agcn_Unet.Model (AGCN-10 l1..l10 + msff NestedUNet + fc_loc); "
                "the unused data_bn is ignored",
))
