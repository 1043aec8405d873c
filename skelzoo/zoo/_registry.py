"""The model registry: ``@register_model`` builders and their ``arch.tag`` weights.

The only global mutable state in skelzoo. Registering a taken name raises.
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

from torch import nn

from ..errors import UnknownModelError
from ._weights import WeightCfg

__all__ = ["ModelEntry", "register_model", "list_models", "get_entry", "split_name", "list_architectures"]


@dataclass
class ModelEntry:
    """A registered architecture: its builder, task, paper and weights by tag."""

    name: str
    builder: Callable[..., nn.Module]
    task: str
    paper: str = ""
    family: str = ""
    weights: dict[str, WeightCfg] = field(default_factory=dict)

    @property
    def default_tag(self) -> str | None:
        for tag, w in self.weights.items():
            if w.default:
                return tag
        return next(iter(self.weights), None)


_MODELS: dict[str, ModelEntry] = {}

#: the modules whose import registers skelzoo's own architectures (``skelzoo/__init__`` does not import them:
#: ``import skelzoo`` stays torch-free); every registry lookup imports them first, see _ensure_builtin_models.
_BUILTIN_MODULES = ("skelzoo.backbones", "skelzoo.localizers")
_builtins_loaded = False
_builtins_loading: set[int] = set()  # threads inside _ensure_builtin_models (re-entrant calls are no-ops)


def _ensure_builtin_models() -> None:
    """Import the built-in architectures once, so every lookup sees them; idempotent and cheap after the first call.

    Imported at call time, not at module level: those modules import ``register_model`` from here. A lookup made
    while they are being imported (``skelzoo.localizers`` calls :func:`list_architectures` at import time) is a
    no-op here; another thread's call blocks in the import system until they are fully imported.
    """
    global _builtins_loaded
    if _builtins_loaded:
        return
    tid = threading.get_ident()
    if tid in _builtins_loading:
        return
    _builtins_loading.add(tid)
    try:
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)
        _builtins_loaded = True
    finally:
        _builtins_loading.discard(tid)


def register_model(fn: Callable[..., nn.Module] | None = None, *, task: str = "classification", paper: str = "",
                   weights: Iterable[WeightCfg] = ()) -> Callable:
    """Register a builder under its function name; usable bare or with arguments.

    ``task`` is ``"classification"`` (backbone + classifier, ``num_classes=0`` gives features) or
    ``"localization"``. ``weights`` lists the published checkpoints (``arch.tag``).
    """
    if task not in ("classification", "features", "localization"):
        raise ValueError(f"task must be classification, features or localization, got {task!r}")

    def deco(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = f.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is already registered (by {_MODELS[name].family})")
        entry = ModelEntry(name, f, task, paper, f.__module__.rsplit(".", 1)[-1])
        for w in weights:
            if w.tag in entry.weights:
                raise ValueError(f"{name}.{w.tag} registered twice")
            entry.weights[w.tag] = w
        _MODELS[name] = entry
        return f

    return deco(fn) if fn is not None else deco


def split_name(name: str) -> tuple[str, str | None]:
    """``"arch.tag" -> ("arch", "tag")``; ``"arch" -> ("arch", None)``."""
    arch, _, tag = name.partition(".")
    return arch, (tag or None)


def _unknown(what: str, name: str, candidates: Iterable[str]) -> UnknownModelError:
    cands = sorted(candidates)
    close = difflib.get_close_matches(name, cands, n=5, cutoff=0.5)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    return UnknownModelError(f"unknown {what} {name!r}{hint} (see skelzoo.list_models(); "
                             f"{len(cands)} available)")


def get_entry(arch: str) -> ModelEntry:
    """The registry entry of an architecture (``ValueError`` with close matches if unknown)."""
    _ensure_builtin_models()
    try:
        return _MODELS[arch]
    except KeyError:
        raise _unknown("architecture", arch, _MODELS) from None


def get_weights(arch: str, tag: str | None) -> WeightCfg:
    """The weight record ``arch.tag`` (``tag=None`` = default tag)."""
    entry = get_entry(arch)
    if tag is None:
        tag = entry.default_tag
        if tag is None:
            raise UnknownModelError(f"{arch!r} has no pretrained weights; build it with pretrained=False "
                                    f"or pick one of {list_models(pretrained=True)}")
    try:
        return entry.weights[tag]
    except KeyError:
        raise _unknown("weights", f"{arch}.{tag}", [f"{arch}.{t}" for t in entry.weights]
                       or list_models(pretrained=True)) from None


def list_architectures() -> list[str]:
    """Every registered architecture name."""
    _ensure_builtin_models()
    return sorted(_MODELS)


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Registered names matching an fnmatch ``pattern``; ``pretrained=True`` lists ``arch.tag`` with weights."""
    _ensure_builtin_models()
    if pretrained:
        names = [f"{a}.{t}" for a, e in _MODELS.items() for t in e.weights]
    else:
        names = list(_MODELS)
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))
