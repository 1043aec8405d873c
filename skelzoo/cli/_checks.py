"""Sanity checks of command-line frame rates, shared by ``localize`` and ``extract``.

Kept apart from the sub-command modules so that the checks are one call at each call site.
"""
from __future__ import annotations

from typing import Any

__all__ = ["check_fps_option", "check_model_fps_option", "check_rate", "MAX_UPSAMPLING"]

#: a recording may be resampled to at most this many times its frames (1 fps -> 64 fps)
MAX_UPSAMPLING = 64.0


def check_fps_option(value: float | None, flag: str = "--fps") -> float | None:
    """``--fps``: ``None`` or a plausible frame rate (finite, 1 to 1000 fps); ValueError otherwise."""
    if value is None:
        return None
    from ..io import FPS_RANGE

    lo, hi = FPS_RANGE
    if not (lo <= value <= hi):  # also false for NaN; inf is above hi
        raise ValueError(f"{flag} must be a frame rate from {lo:g} to {hi:g}, got {value:g}")
    return float(value)


def check_model_fps_option(value: float | None) -> float | None:
    """``--model-fps``: ``None``, ``0`` (never resample) or a plausible frame rate."""
    if value is None or value == 0:
        return value
    return check_fps_option(value, "--model-fps")


def check_rate(name: str, seq: Any, rate: float | None, fps: float | None = None) -> None:
    """Refuse to resample a recording (at ``fps`` when given, ``--fps``; else its own rate) to more than
    :data:`MAX_UPSAMPLING` times its frames."""
    if not rate:
        return
    src = float(fps) if fps else seq.fps
    factor = rate / src
    if factor > MAX_UPSAMPLING:
        raise ValueError(f"{name}: resampling {src:g} fps to the model's {rate:g} fps would multiply "
                         f"its {seq.num_frames} frames by {factor:.0f} (limit {MAX_UPSAMPLING:g}); check the "
                         "recording's frame rate (--fps) or pass --model-fps 0")
