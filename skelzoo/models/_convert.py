"""Checkpoint conversion machinery: container unwrapping, key maps, strict loading.

A :class:`Converter` describes how one source (``official``, ``pyskl``, ``mmaction2``) stores one
skelzoo architecture: a function mapping each skelzoo state-dict key to the source key, tensor
transforms in both directions, and the source keys that exist but are not needed. Converters are
registered per ``(arch, source)`` in the architecture's family file with
:func:`skelzoo.models.register_converter` (they live in the model registry, on the entry). Pure state dict
in, state dict out; the model build happens in :func:`skelzoo.models.convert_checkpoint`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from ..errors import CheckpointError

__all__ = ["Converter", "unwrap_checkpoint", "to_skelzoo_state_dict", "to_source_state_dict", "SOURCES",
           "PYSKL_LAYOUTS", "pyskl_layout"]

SOURCES = ("official", "pyskl", "mmaction2")
Tensor = torch.Tensor


#: The skelzoo layout of each pyskl / mmaction2 ``graph_cfg`` layout, by its joint count: ``nturgb+d``
#: (NTU 3-D joints, pyskl hands) and ``coco`` (COCO-17 2-D keypoints, the HRNet checkpoints).
PYSKL_LAYOUTS = {25: "ntu25_pyskl", 17: "coco17"}


def pyskl_layout(num_joints: int | None) -> dict[str, str]:
    """``{"layout": ...}`` for a pyskl / mmaction2 checkpoint whose graph has ``num_joints`` joints (empty
    when unknown: the caller passes ``layout=...`` to :func:`skelzoo.models.convert_checkpoint`)."""
    name = PYSKL_LAYOUTS.get(int(num_joints)) if num_joints is not None else None
    return {"layout": name} if name else {}


def _same(key: str, t: Tensor) -> Tensor:
    return t


@dataclass(frozen=True)
class Converter:
    """How ``source`` stores skelzoo architecture ``arch``.

    Attributes:
        arch: the skelzoo architecture the converted model is built as.
        source: ``official``, ``pyskl`` or ``mmaction2``.
        key_map: skelzoo key -> source key, or ``None`` for skelzoo entries the source does not store
            (they keep the freshly built value, e.g. fixed graph buffers).
        to_skelzoo / to_source: ``(skelzoo_key, tensor) -> tensor`` transforms (reshape, transpose, ...).
        ignore: regexes of source keys that may be present but are unused.
        model_args: source state dict -> constructor overrides (e.g. ``num_classes`` from the fc shape).
        check: optional ``(skelzoo_key, source_tensor, built_tensor)`` validator for fixed buffers.
    """

    arch: str
    source: str
    key_map: Callable[[str], str | None]
    to_skelzoo: Callable[[str, Tensor], Tensor] = _same
    to_source: Callable[[str, Tensor], Tensor] = _same
    ignore: tuple[str, ...] = ()
    model_args: Callable[[Mapping[str, Tensor]], dict[str, Any]] = field(default=lambda sd: {})
    description: str = ""


def unwrap_checkpoint(obj: Any) -> dict[str, Tensor]:
    """Bare or wrapped (``state_dict``/``model``/``module.``) checkpoint -> flat ``{key: tensor}``."""
    if isinstance(obj, (str, Path)):
        from ..hub.safe_load import load_torch_checkpoint
        obj = load_torch_checkpoint(Path(obj))
    for wrapper in ("state_dict", "model", "model_state", "net"):
        if isinstance(obj, Mapping) and wrapper in obj and isinstance(obj[wrapper], Mapping):
            obj = obj[wrapper]
            break
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"checkpoint is a {type(obj).__name__}, expected a state dict (mapping of tensors)")
    out: dict[str, Tensor] = {}
    for k, v in obj.items():
        if not isinstance(v, Tensor):
            continue  # metadata entries (e.g. epoch numbers) are not weights
        k = str(k)
        while k.startswith("module."):
            k = k[len("module."):]
        out[k] = v
    if not out:
        raise CheckpointError("checkpoint holds no tensors")
    return out


def to_skelzoo_state_dict(src: Mapping[str, Tensor], conv: Converter, model: nn.Module) -> dict[str, Tensor]:
    """Map a source state dict onto ``model``'s keys; raises listing missing and unexpected keys."""
    target = model.state_dict()
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    missing: list[str] = []
    for key, ref in target.items():
        skey = conv.key_map(key)
        if skey is None:
            out[key] = ref
            continue
        if skey not in src:
            if key.endswith("num_batches_tracked"):
                out[key] = torch.zeros_like(ref)  # old checkpoints lack it
                continue
            missing.append(skey)
            continue
        t = conv.to_skelzoo(key, src[skey])
        if tuple(t.shape) == tuple(ref.shape):
            from ..hub.safe_load import check_weights
            check_weights({key: t}, {key: ref}, f"{conv.source} key {skey!r}")
        if tuple(t.shape) != tuple(ref.shape):
            raise CheckpointError(f"{conv.source} key {skey!r} has shape {tuple(src[skey].shape)}, "
                                  f"{conv.arch} expects {tuple(ref.shape)} for {key!r}")
        out[key] = t.to(ref.dtype)
        used.add(skey)
    ignore = [re.compile(p) for p in conv.ignore]
    unexpected = [k for k in src if k not in used and not any(p.search(k) for p in ignore)]
    if missing or unexpected:
        raise CheckpointError(
            f"{conv.source} checkpoint does not fit {conv.arch}: {len(missing)} missing "
            f"{missing[:8]}{'...' if len(missing) > 8 else ''}, {len(unexpected)} unexpected "
            f"{unexpected[:8]}{'...' if len(unexpected) > 8 else ''}")
    return out


def to_source_state_dict(model: nn.Module, conv: Converter) -> dict[str, Tensor]:
    """The inverse map: a skelzoo model's state dict in the source's key names."""
    out: dict[str, Tensor] = {}
    for key, t in model.state_dict().items():
        skey = conv.key_map(key)
        if skey is not None:
            out[skey] = conv.to_source(key, t)
    return out
