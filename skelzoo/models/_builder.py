"""One construction path: build an architecture, load (verified) weights into it, convert foreign checkpoints,
adapt the classifier / frame head.

:func:`build_model` builds from the registry; :func:`load_registered` and :func:`load_dir` fetch, verify
(sha256 before anything is read) and load weights; :func:`convert_checkpoint` maps an original checkpoint
through the architecture's registered converter; :func:`adapt_head` re-initialises the head for another
``num_classes``. The public wrappers are in :mod:`skelzoo.models.api`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from ..errors import CheckpointError, ChecksumError, WeightsError
from ._config import check_num_classes, read_config
from ._convert import to_skelzoo_state_dict, unwrap_checkpoint
from ._registry import get_converter, get_entry
from ._weights import WeightCfg

__all__ = ["build_model", "load_registered", "load_dir", "convert_checkpoint", "adapt_head", "registered_fps",
           "ASSETS", "CONFIG_NAME", "WEIGHTS_NAME", "CARD_NAME"]

_log = logging.getLogger("skelzoo")
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
#: the bundled weights (package data)
ASSETS = Path(__file__).resolve().parents[1] / "assets"


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


def adapt_head(model: nn.Module, num_classes: int | None) -> list[str]:
    """Re-initialise ``model``'s classifier / frame head for ``num_classes`` when it differs; the dropped keys.

    The model's ``skelzoo_config`` records the new ``num_classes`` so that ``save_pretrained`` round-trips.
    """
    if num_classes is None or num_classes == getattr(model, "num_classes", num_classes):
        return []
    dropped = model.classifier_keys()
    model.reset_classifier(num_classes)
    model.skelzoo_config["model_args"]["num_classes"] = num_classes
    return dropped


def registered_fps(arch: str, tag: str | None) -> float | None:
    """The frame rate the registered weights ``arch.tag`` were trained at (None: unknown or not registered)."""
    if not tag:
        return None
    try:
        w = get_entry(arch).weights.get(tag)
    except ValueError:
        return None
    return float(w.fps) if w is not None and w.fps else None


def load_registered(arch: str, w: WeightCfg, num_classes: int | None, kwargs: dict[str, Any]) -> nn.Module:
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
        state = converted_url_weights(arch, w)
    model = build_model(arch, **args)
    model.skelzoo_config["tag"] = w.tag
    if w.fps:
        model.skelzoo_config["fps"] = float(w.fps)
    model.class_names = tuple(w.class_names)
    model.preprocess = w.preprocess
    if w.torso:
        model.skelzoo_config["torso"] = float(w.torso)
    _load_state(model, state, num_classes, f"{arch}.{w.tag}")
    return model


def converted_url_weights(arch: str, w: WeightCfg) -> dict[str, torch.Tensor]:
    """Download an original checkpoint, convert it once, cache the safetensors, return the state dict."""
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


def load_dir(directory: Path, num_classes: int | None, kwargs: dict[str, Any]) -> nn.Module:
    cfg_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not cfg_path.is_file() or not weights_path.is_file():
        raise WeightsError(f"{directory} must hold {CONFIG_NAME} and {WEIGHTS_NAME} (as written by "
                           f"skelzoo.save_pretrained)")
    cfg = read_config(cfg_path)
    arch = cfg["architecture"]
    args = dict(cfg["model_args"])
    args.update(kwargs)
    get_entry(arch)  # an unknown architecture raises with close matches
    try:
        model = build_model(arch, **args)
    except (TypeError, ValueError, RuntimeError, MemoryError, OverflowError) as e:
        msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise WeightsError(f"{cfg_path}: cannot build {arch!r} from its model_args "
                           f"({type(e).__name__}: {msg})") from None
    model.skelzoo_config["tag"] = cfg.get("tag")
    fps = cfg.get("fps") or registered_fps(arch, cfg.get("tag"))
    if fps:
        model.skelzoo_config["fps"] = float(fps)
    model.class_names = tuple(cfg.get("class_names") or ())
    model.preprocess = cfg["preprocess"]
    torso = (cfg.get("input_spec") or {}).get("torso") if isinstance(cfg.get("input_spec"), dict) else None
    if isinstance(torso, (int, float)) and 0 < torso < 100:
        model.skelzoo_config["torso"] = float(torso)
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
    model.dropped_keys = adapt_head(model, num_classes)
    if model.dropped_keys:
        model.class_names = ()
        _log.warning("%s: num_classes=%d differs from the checkpoint; re-initialised %s", what, num_classes,
                     ", ".join(model.dropped_keys))


def convert_checkpoint(src: str | Path | Mapping[str, Any], arch: str, *, source: str = "official",
                       num_classes: int | None = None, **model_kwargs: Any) -> nn.Module:
    """Build the skelzoo model of ``arch`` from an original checkpoint (path or state dict).

    ``.pt``/``.pth`` files are read with ``torch.load(weights_only=True)`` only. The returned model gives
    the same outputs as the original implementation with those weights. With ``num_classes`` different
    from the checkpoint's, the classifier is re-initialised (and logged).
    """
    if num_classes is not None:
        check_num_classes(num_classes, "num_classes")
    conv = get_converter(arch, source)
    sd = unwrap_checkpoint(src)
    kwargs = {**conv.model_args(sd), **model_kwargs}
    model = build_model(conv.arch, **kwargs)
    model.load_state_dict(to_skelzoo_state_dict(sd, conv, model), strict=True)
    dropped = adapt_head(model, num_classes)
    if dropped:
        _log.warning("num_classes=%d differs from the checkpoint: re-initialised %s", num_classes, dropped)
    return model.eval()
