"""The frame rate a model expects and the resampling of a recording to it.

:func:`expected_fps` reads the rate the loaded weights were trained at (``model.skelzoo_config["fps"]``);
:func:`to_model_rate` resamples a :class:`SkeletonSequence` to it and returns the :class:`RateChange` that maps
model frames back to the recording's frames and seconds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal, Sequence, Union

import numpy as np
from torch import nn

from ..io.sequence import SkeletonSequence

_log = logging.getLogger("skelzoo")

__all__ = ["DEFAULT_FPS", "ModelRate", "expected_fps", "resolve_model_fps", "RateChange", "needs_resampling",
           "to_model_rate"]

#: frame rate of skelzoo's training data: the rate a model is assumed to expect when nothing says otherwise
DEFAULT_FPS = 30.0

#: ``model_fps`` argument: a rate, ``"auto"`` (the model's, :func:`expected_fps`) or ``None`` / ``0`` (keep the
#: recording's rate)
ModelRate = Union[float, Literal["auto"], None]


def expected_fps(model: nn.Module, name: str = "", default: float = DEFAULT_FPS) -> float:
    """Frame rate ``model`` expects its input at.

    The ``fps`` recorded in ``model.skelzoo_config`` (:func:`skelzoo.load_model` records the rate of the
    registered weights, or of a saved model's ``config.json``), else ``default`` (30 fps, skelzoo's training
    data). ``name`` (the name the model was loaded by) is accepted for the callers that have one; the rate
    of a registered name is :func:`skelzoo.models.model_fps`.
    """
    del name  # the loaded model carries its weights' rate
    cfg = getattr(model, "skelzoo_config", None) or {}
    fps = cfg.get("fps")
    return float(fps) if fps else float(default)


def resolve_model_fps(model: nn.Module, choice: ModelRate = "auto", *, name: str = "") -> float | None:
    """The rate to resample recordings to for ``model`` (``None``: keep each recording's rate).

    ``choice``: ``"auto"`` = :func:`expected_fps` (``name``: the name the model was loaded by), a positive
    rate = that rate, ``None`` / ``0`` = never resample (the ``--model-fps`` flag of the CLI and examples).
    """
    if isinstance(choice, str):
        if choice != "auto":
            raise ValueError(f"model_fps must be a frame rate, 'auto' or None, got {choice!r}")
        return expected_fps(model, name)
    if choice is None or choice == 0:
        return None
    choice = float(choice)
    if not np.isfinite(choice) or choice < 0:
        raise ValueError(f"model_fps (--model-fps) must be a frame rate > 0, or 0 / None to keep the "
                         f"recording's rate; got {choice:g}")
    return choice


@dataclass(frozen=True)
class RateChange:
    """How a recording was brought to the model's frame rate, and the way back to its frames.

    Attributes:
        recording_fps: the recording's frame rate.
        model_fps: the rate the model sees (``== recording_fps`` when nothing was resampled).
        num_frames: the recording's number of frames ``T``.
        index: recording frame shown at each model frame (``None``: not resampled, the identity).
    """

    recording_fps: float
    model_fps: float
    num_frames: int
    index: np.ndarray | None = None
    times: np.ndarray | None = None  # the recording's frame times (s from its first frame), when it has them
    notes: tuple[str, ...] = ()  # what resampling on time reported (gaps left without skeleton)

    def recording_seconds(self, frame: int) -> float:
        """Time of recording frame ``frame`` (``frame == num_frames``: the end of the last frame), in seconds
        from the first frame: its logged time when the recording has frame times, else ``frame / fps``."""
        if self.times is None or not len(self.times):
            return frame / self.recording_fps
        if frame < len(self.times):
            return float(self.times[frame])
        return float(self.times[-1]) + 1.0 / self.recording_fps

    @property
    def resampled(self) -> bool:
        return self.index is not None

    def recording_frames(self) -> np.ndarray:
        """Model frame that holds each recording frame: int64 ``(T,)`` (the last model frame at or before it)."""
        if self.index is None:
            return np.arange(self.num_frames)
        return np.maximum(np.searchsorted(self.index, np.arange(self.num_frames), side="right") - 1, 0)

    def features_to_recording(self, features: np.ndarray) -> np.ndarray:
        """Per-frame values at the model's rate ``(T', ...)`` -> the recording's frames ``(T, ...)`` (each
        recording frame takes the model frame that holds it)."""
        if self.index is None:
            return features
        return features[self.recording_frames()]

    def segments_to_recording(self, segments: Sequence[Any]) -> list[Any]:
        """Segments in model frames -> frames of the recording (boundaries scaled by the rate ratio as the
        resampling picked them, clipped to the recording, at least one frame long) and seconds of the
        recording (its logged frame times when it has them, else frames / its rate)."""
        if self.index is None:
            return list(segments)
        t = self.num_frames
        if self.times is not None and len(self.times) == t:  # resampled on time: rows inside [start, end) times
            out = []
            for s in segments:
                a = int(np.searchsorted(self.times, max(int(s.start), 0) / self.model_fps - 1e-9, side="left"))
                b = int(np.searchsorted(self.times, max(int(s.end), 0) / self.model_fps - 1e-9, side="left"))
                start = min(a, t - 1)
                end = max(start + 1, min(b, t))
                out.append(replace(s, start=start, end=end, start_s=self.recording_seconds(start),
                                   end_s=self.recording_seconds(end)))
            return out
        bounds = np.r_[self.index, t]  # recording frame where each model frame starts; one past the end
        out = []
        for s in segments:
            start = min(t - 1, int(bounds[min(max(int(s.start), 0), len(bounds) - 1)]))
            end = max(start + 1, min(t, int(bounds[min(max(int(s.end), 0), len(bounds) - 1)])))
            out.append(replace(s, start=start, end=end, start_s=self.recording_seconds(start),
                               end_s=self.recording_seconds(end)))
        return out


def needs_resampling(recording_fps: float, fps: float | None) -> bool:
    """Whether a recording at ``recording_fps`` is resampled for a model at ``fps`` (``None`` / ``0``: never;
    rates within 0.1 % count as equal)."""
    return bool(fps) and abs(recording_fps - fps) > 1e-3 * fps


def to_model_rate(seq: SkeletonSequence, fps: float | None) -> tuple[SkeletonSequence, RateChange]:
    """``seq`` at the model's rate ``fps``, with the :class:`RateChange` that maps model-rate results back to
    the recording's frames.

    A recording with frame times (``meta["timestamps"]``) is resampled on time
    (:func:`skelzoo.data.timing.resample_on_time`: repeated frames averaged, linear interpolation, gaps up to
    0.5 s bridged, longer ones left empty and reported in ``RateChange.notes``) when its rate differs or its
    times are irregular (sparse, repeated, gaps). One without frame times is regular: it is resampled by
    picking the nearest frames (:func:`skelzoo.data.transforms.resample`) when :func:`needs_resampling`, and
    returned as is otherwise. ``fps`` ``None`` / ``0``: never resampled.
    """
    from ..data.timing import frame_times, is_irregular, resample_on_time

    times = frame_times(seq) if fps else None
    if times is not None and len(times) > 1 and (np.diff(times) < 0).any():
        _log.warning("%s: frame times go backwards; resampling by frame order at %g fps instead",
                     seq.meta.get("source", "recording"), seq.fps)
        times = None
    if times is not None and (needs_resampling(seq.fps, fps) or is_irregular(times, seq.fps)):
        out, index, report = resample_on_time(seq, float(fps), times=times)
        if report.duplicates or report.bridged or report.gaps:
            _log.info("resampled on frame times: %d repeated frame(s) averaged, %d gap(s) bridged, %d left",
                      report.duplicates, report.bridged, len(report.gaps))
        return out, RateChange(seq.fps, float(fps), seq.num_frames, index, times, tuple(report.messages()))
    if not needs_resampling(seq.fps, fps):
        return seq, RateChange(seq.fps, seq.fps, seq.num_frames, times=times)
    from ..data.transforms import resample, resample_indices

    index = resample_indices(seq.num_frames, seq.fps, fps)
    return resample(seq, fps), RateChange(seq.fps, float(fps), seq.num_frames, index)
