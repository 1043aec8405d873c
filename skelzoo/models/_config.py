"""Reading and validating a model folder's ``config.json`` before anything is built from it.

Every field ``load_model("local-dir:...")`` / ``hf-hub:`` uses is checked for type and range, so a
hand-edited or hostile file gives one :class:`~skelzoo.errors.WeightsError` naming the file and the
field, never a ``TypeError`` deep in a constructor, a huge allocation or a setting that fails later.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import WeightsError

__all__ = ["read_config", "check_num_classes", "MAX_NUM_CLASSES"]

#: largest class count accepted from a file or an argument (BABEL-120 and NTU-120 are far below)
MAX_NUM_CLASSES = 100_000
_MAX_CONFIG_BYTES = 1 << 20
#: model_args integers beyond this are refused (widths, depths, joints, persons, classes)
_MAX_INT_ARG = 1_000_000


def check_num_classes(value: Any, what: str) -> int:
    """``value`` as a class count in ``[0, MAX_NUM_CLASSES]``; ``ValueError`` naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUM_CLASSES:
        raise ValueError(f"{what} must be an integer from 0 to {MAX_NUM_CLASSES}, got {str(value)[:40]}")
    return value


def _fail(path: Path, message: str) -> WeightsError:
    return WeightsError(f"{path} is not a valid skelzoo config.json: {message}")


def _check_args(args: dict[str, Any], path: Path) -> None:
    for key, value in args.items():
        if not isinstance(key, str):
            raise _fail(path, f"model_args key {key!r} is not a string")
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(path, f"model_args.{key} is {value}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT_ARG:
            raise _fail(path, f"model_args.{key} = {value} is out of range (|x| <= {_MAX_INT_ARG})")
        if isinstance(value, (dict, list)) and len(json.dumps(value)) > 10_000:
            raise _fail(path, f"model_args.{key} is implausibly large")
    if "num_classes" in args:
        try:
            check_num_classes(args["num_classes"], "model_args.num_classes")
        except ValueError as e:
            raise _fail(path, str(e)) from None


def read_config(path: Path) -> dict[str, Any]:
    """Parse and validate ``config.json``; returns the dictionary with ``model_args`` a dict.

    Checked: a JSON object (at most 1 MiB, no deep nesting); ``architecture`` a string; ``model_args``
    an object with finite, bounded values (``num_classes`` in ``[0, 100000]``); ``class_names`` a list
    of strings (as many as ``num_classes`` when both are given); ``fps`` ``null`` or a plausible frame
    rate; ``preprocess`` a known code; ``tag`` ``null`` or a string.

    Raises:
        WeightsError: naming the file and the offending field.
    """
    from ..dataset_info import PREPROCESS_DESCRIPTIONS
    from ..io import FPS_RANGE

    try:
        raw = path.read_bytes()
    except OSError as e:
        raise WeightsError(f"cannot read {path}: {e.strerror or e}") from None
    if len(raw) > _MAX_CONFIG_BYTES:
        raise _fail(path, f"{len(raw)} bytes, more than the {_MAX_CONFIG_BYTES}-byte limit")
    try:
        cfg = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise _fail(path, "JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise _fail(path, f"not valid UTF-8 JSON ({str(e)[:120]})") from None
    if not isinstance(cfg, dict):
        raise _fail(path, f"the top level is a {type(cfg).__name__}, expected an object")
    arch = cfg.get("architecture")
    if not isinstance(arch, str) or not arch:
        raise _fail(path, f"'architecture' must be a non-empty string, got {str(arch)[:40]!r}")
    args = cfg.get("model_args", {})
    if not isinstance(args, dict):
        raise _fail(path, f"'model_args' must be an object, got {type(args).__name__}")
    _check_args(args, path)
    num_classes = cfg.get("num_classes")
    if num_classes is not None:
        try:
            check_num_classes(num_classes, "'num_classes'")
        except ValueError as e:
            raise _fail(path, str(e)) from None
    names = cfg.get("class_names")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _fail(path, f"'class_names' must be a list of strings, got {str(names)[:40]!r}")
        expected = args.get("num_classes", num_classes)
        if names and isinstance(expected, int) and len(names) != expected:
            raise _fail(path, f"'class_names' lists {len(names)} names but num_classes is {expected}")
    fps = cfg.get("fps")
    if fps is not None:
        lo, hi = FPS_RANGE
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not (math.isfinite(fps) and lo <= fps <= hi):
            raise _fail(path, f"'fps' must be null or a frame rate from {lo:g} to {hi:g}, got {str(fps)[:40]}")
    pre = cfg.get("preprocess", "")
    if pre is None:
        pre = ""
    if not isinstance(pre, str) or pre not in PREPROCESS_DESCRIPTIONS:
        raise _fail(path, f"unknown 'preprocess' {str(pre)[:40]!r} (known: "
                          f"{', '.join(repr(k) for k in PREPROCESS_DESCRIPTIONS)})")
    tag = cfg.get("tag")
    if tag is not None and not isinstance(tag, str):
        raise _fail(path, f"'tag' must be null or a string, got {type(tag).__name__}")
    return {**cfg, "model_args": dict(args), "preprocess": pre}
