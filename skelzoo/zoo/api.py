"""Public zoo API: ``load_model``, ``model_info``, ``save_pretrained``."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import __version__
from ..errors import CheckpointError, ChecksumError, WeightsError
from ._builder import build_model
from ._registry import get_entry, get_weights, split_name
from ._weights import WeightCfg

__all__ = ["load_model", "model_info", "save_pretrained", "CONFIG_NAME", "WEIGHTS_NAME", "CARD_NAME"]

_log = logging.getLogger("skelzoo")
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
ASSETS = Path(__file__).resolve().parents[1] / "assets"


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
        from ._config import check_num_classes
        check_num_classes(num_classes, "num_classes")
    if name.startswith("hf-hub:"):
        from ..hub.hf import hf_model_dir, parse_hf_name
        repo_id, revision = parse_hf_name(name)
        model = _load_dir(hf_model_dir(repo_id, revision=revision), num_classes, kwargs)
    elif name.startswith("local-dir:"):
        model = _load_dir(Path(name[len("local-dir:"):]).expanduser(), num_classes, kwargs)
    else:
        arch, tag = split_name(name)
        entry = get_entry(arch)
        if isinstance(pretrained, str):
            if tag is not None and tag != pretrained:
                raise ValueError(f"name {name!r} and pretrained={pretrained!r} name different tags")
            tag = pretrained
        if tag is not None or pretrained:
            w = get_weights(entry.name, tag)
            model = _load_registered(entry.name, w, num_classes, kwargs)
        else:
            if num_classes is not None:
                kwargs["num_classes"] = num_classes
            model = build_model(entry.name, **kwargs)
            model.skelzoo_config["tag"] = None
    if device is not None:
        model = model.to(device)
    return model.eval()


def _load_registered(arch: str, w: WeightCfg, num_classes: int | None, kwargs: dict[str, Any]) -> nn.Module:
    args = {**w.model_args, **kwargs}
    if w.file:
        path = ASSETS / w.file
        if not path.is_file():
            raise WeightsError(f"bundled weights {arch}.{w.tag} are missing at {path}; reinstall skelzoo")
        _verify_sha256(path, w.sha256, f"{arch}.{w.tag}")
        state = _read_safetensors(path)
    elif w.hf_hub_id:
        from ..hub.hf import hf_download
        path = hf_download(w.hf_hub_id, w.filename, revision=w.revision, sha256=w.sha256)
        state = _read_safetensors(path)
    else:
        state = _converted_url_weights(arch, w)
    model = build_model(arch, **args)
    model.skelzoo_config["tag"] = w.tag
    if w.fps:
        model.skelzoo_config["fps"] = float(w.fps)
    model.class_names = tuple(w.class_names)
    model.preprocess = w.preprocess
    _load_state(model, state, num_classes, f"{arch}.{w.tag}")
    return model


def _converted_url_weights(arch: str, w: WeightCfg) -> dict[str, torch.Tensor]:
    """Download an original checkpoint, convert it once, cache the safetensors, return the state dict."""
    from ..convert._core import get_converter, to_skelzoo_state_dict, unwrap_checkpoint
    from ..hub.cache import cached_conversion, download_url

    assert w.url is not None and w.convert_source is not None

    def convert(original: Path) -> dict[str, torch.Tensor]:
        from ..hub.safe_load import check_zip_integrity
        check_zip_integrity(original)
        conv = get_converter(arch, w.convert_source)
        sd = unwrap_checkpoint(original)
        inferred = conv.model_args(sd)
        differ = {k: (v, w.model_args.get(k, "<missing>")) for k, v in inferred.items()
                  if w.model_args.get(k, "<missing>") != v}
        if differ or conv.arch != arch:
            raise CheckpointError(f"{w.url} does not match the registry entry {arch}.{w.tag}: "
                                  f"checkpoint implies {differ or conv.arch} (checkpoint, registry)")
        model = build_model(arch, **w.model_args)
        return to_skelzoo_state_dict(sd, conv, model)

    converted: dict[str, dict[str, torch.Tensor]] = {}

    def validate(tmp: Path) -> None:  # the whole conversion runs before the download enters the cache
        converted["sd"] = convert(tmp)

    def produce() -> dict[str, torch.Tensor]:
        original = download_url(w.url, sha256=w.sha256, hash_prefix=w.hash_prefix, validate=validate)
        if "sd" in converted:
            return converted["sd"]
        try:
            return convert(original)
        except CheckpointError as e:
            raise CheckpointError(f"{e} (cached file {original}: delete it to download it again)") from None

    path = cached_conversion(f"{arch}.{w.tag}", produce, source_url=w.url)
    return _read_safetensors(path)


def _load_dir(directory: Path, num_classes: int | None, kwargs: dict[str, Any]) -> nn.Module:
    cfg_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not cfg_path.is_file() or not weights_path.is_file():
        raise WeightsError(f"{directory} must hold {CONFIG_NAME} and {WEIGHTS_NAME} (as written by "
                           f"skelzoo.save_pretrained)")
    from ._config import read_config
    cfg = read_config(cfg_path)
    arch = cfg["architecture"]
    args = dict(cfg["model_args"])
    args.update(kwargs)
    get_entry(arch)  # an unknown architecture raises with close matches
    try:
        model = build_model(arch, **args)
    except (TypeError, ValueError, RuntimeError, MemoryError, OverflowError) as e:
        msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise WeightsError(f"{cfg_path}: cannot build {arch!r} from its model_args ({type(e).__name__}: {msg})") from None
    model.skelzoo_config["tag"] = cfg.get("tag")
    if cfg.get("fps"):
        model.skelzoo_config["fps"] = float(cfg["fps"])
    model.class_names = tuple(cfg.get("class_names") or ())
    model.preprocess = cfg["preprocess"]
    _load_state(model, _read_safetensors(weights_path), num_classes, str(directory))
    return model


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from ..hub.safe_load import load_safetensors
    return load_safetensors(path)


def _verify_sha256(path: Path, expected: str | None, what: str) -> None:
    if expected is None:
        return
    from ..hub.cache import sha256_file
    got = sha256_file(path)
    if got != expected:
        raise ChecksumError(f"{what}: {path} has sha256 {got}, expected {expected}; nothing was loaded")


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], num_classes: int | None, what: str) -> None:
    from ..hub.safe_load import check_weights
    check_weights(state, model.state_dict(), what)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise WeightsError(f"weights of {what} do not fit {model.skelzoo_config['architecture']}: {e}") from None
    model.dropped_keys = []
    if num_classes is not None and num_classes != getattr(model, "num_classes", num_classes):
        dropped = model.classifier_keys()
        model.reset_classifier(num_classes)
        model.skelzoo_config["model_args"]["num_classes"] = num_classes
        model.class_names = ()
        model.dropped_keys = dropped
        _log.warning("%s: num_classes=%d differs from the checkpoint; re-initialised %s", what, num_classes,
                     ", ".join(dropped))


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
        "task": entry.task if entry.task == "localization" else getattr(model, "task", entry.task),
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
        "hash_prefix": w.hash_prefix if w else None,
        "description": w.description if w else None,
        "paper": (w.paper if w and w.paper else entry.paper),
        "default_tag": entry.default_tag,
        "tags": list(entry.weights),
        "feature_info": [dict(f) for f in getattr(model, "feature_info", [])],
    }


# ---------------------------------------------------------------------------------------------- save
def save_pretrained(model: nn.Module, directory: str | Path, *, model_card: bool = True,
                    metrics: dict[str, float] | None = None, extra_card: str = "") -> Path:
    """Write ``config.json``, ``model.safetensors`` and (optionally) a ``README.md`` model card.

    ``load_model("local-dir:" + directory)`` restores an identical model.
    """
    from ..hub.safe_load import save_safetensors
    from .card import render_card

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
        "task": get_entry(cfg0["architecture"]).task if get_entry(cfg0["architecture"]).task == "localization"
        else getattr(model, "task", None),
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
