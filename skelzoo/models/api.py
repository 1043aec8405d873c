"""Public zoo API: ``load_model``, ``model_info``, ``model_fps``, ``save_pretrained``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import __version__
from ._builder import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, build_model, load_dir, load_registered, registered_fps
from ._config import check_num_classes
from ._registry import get_entry, get_weights, model_task, split_name

__all__ = ["load_model", "model_info", "model_fps", "save_pretrained", "CONFIG_NAME", "WEIGHTS_NAME", "CARD_NAME"]



# ---------------------------------------------------------------------------------------------- load
def load_model(name: str, pretrained: bool | str = False, *, num_classes: int | None = None,
               device: str | torch.device | None = None, **kwargs: Any) -> nn.Module:
    """Build a model by name, optionally with verified pretrained weights; returned in eval mode.

    Args:
        name: ``"arch"``, ``"arch.tag"``, ``"hf-hub:org/repo[@revision]"`` or ``"local-dir:/path"``.
        pretrained: ``True`` loads the default tag (or the tag in ``name``); a string selects a tag.
        num_classes: when it differs from the checkpoint, the classifier / frame head is re-initialised
            and the dropped keys are logged (warning) and kept in ``model.dropped_keys``.
        device: where to put the model.
        kwargs: constructor overrides (only without weights, or ones that keep the weights' shapes).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"model name must be a non-empty string, got {name!r}")
    if num_classes is not None:
        check_num_classes(num_classes, "num_classes")
    if name.startswith("hf-hub:"):
        from ..hub.hf import hf_model_dir, parse_hf_name
        repo_id, revision = parse_hf_name(name)
        model = load_dir(hf_model_dir(repo_id, revision=revision), num_classes, kwargs)
    elif name.startswith("local-dir:"):
        model = load_dir(Path(name[len("local-dir:"):]).expanduser(), num_classes, kwargs)
    else:
        arch, tag = split_name(name)
        entry = get_entry(arch)
        if isinstance(pretrained, str):
            if tag is not None and tag != pretrained:
                raise ValueError(f"name {name!r} and pretrained={pretrained!r} name different tags")
            tag = pretrained
        if tag is not None or pretrained:
            w = get_weights(entry.name, tag)
            model = load_registered(entry.name, w, num_classes, kwargs)
        else:
            if num_classes is not None:
                kwargs["num_classes"] = num_classes
            model = build_model(entry.name, **kwargs)
            model.skelzoo_config["tag"] = None
    if device is not None:
        model = model.to(device)
    return model.eval()


# ---------------------------------------------------------------------------------------------- info
def model_info(name: str) -> dict[str, Any]:
    """Metadata of ``arch`` or ``arch.tag`` (see CONTRACT.md for the keys)."""
    arch, tag = split_name(name)
    entry = get_entry(arch)
    w = entry.weights.get(tag) if tag else None
    if tag and w is None:
        get_weights(arch, tag)  # raises with close matches
    args = dict(w.model_args) if w else {}
    with torch.device("meta"):
        model = build_model(arch, **args)
    return {
        "name": name,
        "arch": arch,
        "tag": tag,
        "task": model_task(arch, model),
        "layout": getattr(model, "layout", w.layout if w else None),
        "in_channels": getattr(model, "in_channels", None),
        "num_person": getattr(model, "num_person", None),
        "num_classes": getattr(model, "num_classes", None),
        "class_names": list(w.class_names) if w else [],
        "num_params": sum(p.numel() for p in model.parameters()),
        "license": w.license if w else None,
        "source": (w.source or w.location) if w else None,
        "location": w.location if w else None,
        "sha256": w.sha256 if w else None,
        "metrics": dict(w.metrics) if w else {},
        "dataset": w.dataset if w else None,
        "preprocess": w.preprocess if w else None,
        "fps": w.fps if w else None,
        "torso": w.torso if w else None,
        "hash_prefix": w.hash_prefix if w else None,
        "description": w.description if w else None,
        "paper": (w.paper if w and w.paper else entry.paper),
        "default_tag": entry.default_tag,
        "tags": list(entry.weights),
        "model_args": args,
        "feature_info": [dict(f) for f in getattr(model, "feature_info", [])],
    }


def model_fps(name: str, default: float | None = 30.0) -> float | None:
    """Frame rate the registered checkpoint ``name`` (``arch.tag`` or ``arch``) was trained at (its weights'
    ``fps``), else ``default``; ``local-dir:`` / ``hf-hub:`` names give ``default``."""
    if not name.startswith(("local-dir:", "hf-hub:")):
        arch, tag = split_name(name)
        try:
            fps = registered_fps(arch, tag or get_entry(arch).default_tag) if tag else None
        except ValueError:
            fps = None
        if fps:
            return fps
    return default


# ---------------------------------------------------------------------------------------------- save
def save_pretrained(model: nn.Module, directory: str | Path, *, model_card: bool = True,
                    metrics: dict[str, float] | None = None, extra_card: str = "") -> Path:
    """Write ``config.json``, ``model.safetensors`` and (optionally) a ``README.md`` model card.

    ``load_model("local-dir:" + directory)`` restores an identical model.
    """
    from ..hub.model_card import render_card
    from ..hub.safe_load import save_safetensors

    cfg0 = getattr(model, "skelzoo_config", None)
    if not cfg0:
        raise ValueError("save_pretrained needs a model built by skelzoo (load_model / build_model)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "architecture": cfg0["architecture"],
        "model_args": cfg0["model_args"],
        "layout": getattr(model, "layout", None),
        "in_channels": getattr(model, "in_channels", None),
        "num_classes": getattr(model, "num_classes", None),
        "class_names": list(getattr(model, "class_names", ()) or ()),
        "tag": cfg0.get("tag"),
        "preprocess": getattr(model, "preprocess", ""),
        "fps": cfg0.get("fps"),  # frame rate the weights were trained at (None: unknown)
        "task": model_task(cfg0["architecture"], model),
        "skelzoo_version": __version__,
    }
    from ..localization.input_spec import get_input_spec
    # what the weights expect as input (layout, channels, persons, fps, preprocessing): skelzoo.prepare applies it
    config["input_spec"] = get_input_spec(model).to_dict()
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_safetensors(state, directory / WEIGHTS_NAME, metadata={"format": "pt", "architecture": config["architecture"]})
    if model_card:
        from ..hub.cache import sha256_file
        card = render_card(config, num_params=sum(p.numel() for p in model.parameters()),
                           sha256=sha256_file(directory / WEIGHTS_NAME), metrics=metrics or {}, extra=extra_card)
        (directory / CARD_NAME).write_text(card)
    return directory
