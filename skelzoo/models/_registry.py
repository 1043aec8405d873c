"""The model registry: ``@register_model`` builders, their ``arch.tag`` weights and their checkpoint converters.

The only global mutable state in skelzoo. Registering a taken name raises. The family modules of
:mod:`skelzoo.models` register themselves when imported, and every route to this module goes through
``skelzoo/models/__init__.py``, which imports them all: a lookup always sees the built-in models.
"""
from __future__ import annotations

import difflib
import fnmatch
import inspect
from dataclasses import dataclass, field
from typing import Callable, Iterable

from torch import nn

from ..errors import UnknownModelError
from ._convert import SOURCES, Converter
from ._weights import WeightCfg

__all__ = ["ModelEntry", "register_model", "list_models", "checkpoint_task", "model_task", "TASKS", "get_entry",
           "get_weights", "split_name", "list_architectures", "register_converter", "get_converter", "list_converters"]


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
    def converters(self) -> dict[str, Converter]:
        """This architecture's checkpoint converters by source (``official``, ``pyskl``, ``mmaction2``)."""
        return {src: c for (arch, src), c in sorted(_CONVERTERS.items()) if arch == self.name}

    @property
    def default_tag(self) -> str | None:
        for tag, w in self.weights.items():
            if w.default:
                return tag
        return next(iter(self.weights), None)


_MODELS: dict[str, ModelEntry] = {}
_CONVERTERS: dict[tuple[str, str], Converter] = {}


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
    return sorted(_MODELS)


#: what a model or checkpoint does (``model_info(name)["task"]``)
TASKS = ("classification", "features", "localization")


def model_task(arch: str, model: object) -> str:
    """The task of a built ``model`` of architecture ``arch``: ``"localization"`` for a localization
    architecture, else the model's own ``task`` (``"classification"`` or ``"features"``, from its
    ``num_classes``). The rule of ``model_info``, saved configs and model cards; :func:`checkpoint_task` applies
    it to a registered name without building the model."""
    entry = get_entry(arch)
    return "localization" if entry.task == "localization" else getattr(model, "task", entry.task)


def checkpoint_task(arch: str, tag: str | None = None) -> str:
    """``"localization"``, ``"features"`` (no classifier: ``num_classes=0``) or ``"classification"``.

    The rule of :func:`model_task`: a localization architecture localizes; otherwise the checkpoint's (or,
    without a tag, the builder's default) ``num_classes`` decides, so a self-supervised encoder of an
    architecture registered for classification is a feature extractor.
    """
    entry = get_entry(arch)
    if entry.task == "localization":
        return "localization"
    w = entry.weights.get(tag) if tag else None
    default = inspect.signature(entry.builder).parameters.get("num_classes")
    n = (w.model_args if w else {}).get("num_classes", default.default if default is not None else None)
    return "features" if n == 0 else "classification"


def list_models(pattern: str = "*", pretrained: bool = False, task: str | None = None) -> list[str]:
    """Registered names matching an fnmatch ``pattern``; ``pretrained=True`` lists ``arch.tag`` with weights.

    ``task`` (one of :data:`TASKS`) keeps the names whose :func:`checkpoint_task` it is.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if pretrained:
        names = [f"{a}.{t}" for a, e in _MODELS.items() for t in e.weights]
    else:
        names = list(_MODELS)
    names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if task is not None:
        names = [n for n in names if checkpoint_task(*split_name(n)) == task]
    return sorted(names)


def register_converter(conv: Converter, *, name: str | None = None) -> Converter:
    """Register ``conv`` for ``(name or conv.arch, conv.source)``; duplicates raise."""
    key = (name or conv.arch, conv.source)
    if conv.source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {conv.source!r}")
    if key in _CONVERTERS:
        raise ValueError(f"converter {key} already registered")
    _CONVERTERS[key] = conv
    return conv


def list_converters() -> list[tuple[str, str]]:
    """All registered ``(arch, source)`` pairs."""
    return sorted(_CONVERTERS)


def get_converter(arch: str, source: str) -> Converter:
    """The converter for ``(arch, source)`` (``ValueError`` listing what exists)."""
    try:
        return _CONVERTERS[(arch, source)]
    except KeyError:
        have = [s for (a, s) in _CONVERTERS if a == arch]
        if have:
            raise ValueError(f"no {source!r} converter for {arch!r}; sources for {arch!r}: "
                             f"{', '.join(sorted(have))}") from None
        archs = sorted({a for a, _ in _CONVERTERS})
        raise ValueError(f"no converter for architecture {arch!r}; convertible: {', '.join(archs)}") from None
