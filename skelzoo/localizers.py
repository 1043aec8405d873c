"""Registration of every localization architecture: ``<backbone>_ufusion`` and ``<backbone>_simple``.

Paper: Q. Cheng, J. Liu, C. Morgan, A. Whone, M. Mirmehdi, "Skeleton-Snippet Contrastive Learning with
Multiscale Feature Fusion for Action Localization", arXiv 2512.16504 (ICPR 2026); official code
github.com/cqs0925/SnipCLR (licence as stated in that repository; no code copied), built on
github.com/line/Skeleton-Temporal-Action-Localization (Apache-2.0).

For every registered backbone architecture that is not itself a localizer (``skelzoo.backbones`` is
imported first), two builders are generated:

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

from . import backbones as _backbones  # noqa: F401  (registers the backbones first)
from .convert._core import Converter, get_converter, register_converter
from .localization._weights import LOCALIZER_WEIGHTS
from .localization.localizer import Localizer
from .zoo._registry import get_entry, list_architectures, register_model

__all__ = ["build_localizer", "LOCALIZER_SUFFIXES"]

LOCALIZER_SUFFIXES = ("_ufusion", "_simple")
_PAPER = ("SnipCLR: Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action "
          "Localization (arXiv 2512.16504)")


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
                       f":mod:`skelzoo.localizers`.")
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


REGISTERED = tuple(_register_all())


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
