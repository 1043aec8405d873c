"""One construction path: registry builder -> model carrying its own config."""
from __future__ import annotations

from typing import Any

from torch import nn

from ._registry import get_entry

__all__ = ["build_model"]


def build_model(arch: str, **model_args: Any) -> nn.Module:
    """Build architecture ``arch`` with constructor overrides ``model_args`` (random init).

    The model remembers how it was built in ``model.skelzoo_config`` (``architecture``, ``model_args``),
    which :func:`skelzoo.save_pretrained` writes to ``config.json``.
    """
    entry = get_entry(arch)
    try:
        model = entry.builder(**model_args)
    except TypeError as e:  # unknown keyword: say which architecture rejected it
        raise ValueError(f"{arch}: {e}") from None
    model.skelzoo_config = {"architecture": arch, "model_args": dict(model_args)}
    model.class_names = tuple(getattr(model, "class_names", ()) or ())
    model.preprocess = getattr(model, "preprocess", "")
    return model
