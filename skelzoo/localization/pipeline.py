"""The straight data path of ``skelzoo localize`` / ``skelzoo extract``.

file -> :class:`SkeletonSequence` -> resampling to the model's frame rate (:func:`to_model_rate`) ->
layout conversion + preprocessing of the checkpoint -> tensor ``(1, C, T, V, M)`` -> model ->
segments / per-frame features, mapped back to the recording's frames and seconds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal, Sequence, Union

import numpy as np
import torch
from torch import nn

from ..io.sequence import SkeletonSequence

_log = logging.getLogger("skelzoo")

__all__ = ["model_fps", "expected_fps", "resolve_model_fps", "RateChange", "needs_resampling", "to_model_rate",
           "prepare_input", "LocalizationResult", "localize_sequence", "extract_features"]

#: frame rate of skelzoo's training data: the rate a model is assumed to expect when nothing says otherwise
DEFAULT_FPS = 30.0

#: ``model_fps`` argument: a rate, ``"auto"`` (the model's, :func:`expected_fps`) or ``None`` / ``0`` (keep the
#: recording's rate)
ModelRate = Union[float, Literal["auto"], None]


def model_fps(name: str, default: float | None = 30.0) -> float | None:
    """Frame rate the registered checkpoint ``name`` (``arch.tag`` or ``arch``) was trained at (its weights'
    ``fps``), else ``default``; ``local-dir:`` / ``hf-hub:`` names give ``default``."""
    if not name.startswith(("local-dir:", "hf-hub:")):
        from ..zoo import model_info
        try:
            fps = model_info(name).get("fps")
        except (ValueError, KeyError):
            fps = None
        if fps:
            return float(fps)
    return default


def expected_fps(model: nn.Module, name: str = "", default: float = DEFAULT_FPS) -> float:
    """Frame rate ``model`` expects its input at.

    In order: an ``fps`` recorded in ``model.skelzoo_config``; the registered rate of ``name`` (``arch`` or
    ``arch.tag``; see :func:`model_fps`); the registered rate of the checkpoint the model was loaded from
    (``skelzoo_config``'s ``architecture`` + ``tag``); else ``default`` (30 fps, skelzoo's training data).
    """
    cfg = getattr(model, "skelzoo_config", None) or {}
    fps = cfg.get("fps")
    if fps:
        return float(fps)
    if name and not name.startswith(("local-dir:", "hf-hub:")):
        fps = model_fps(name, default=None)
    if not fps and cfg.get("architecture") and cfg.get("tag"):
        fps = model_fps(f"{cfg['architecture']}.{cfg['tag']}", default=None)
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


def prepare_input(seq: SkeletonSequence, model: nn.Module) -> torch.Tensor:
    """Bring a sequence into the form ``model`` expects: ``(1, C, T, V, M)`` float32 (at the sequence's own
    frame rate: :func:`to_model_rate` resamples first; :func:`skelzoo.prepare` does both).

    Converts the layout when it differs (``skelzoo.io.mapping``), fills missing joints from their
    neighbours, applies the checkpoint's preprocessing (``model.preprocess``, e.g. ``"ntu"`` for the
    NTU pre-normalisation) and selects / pads persons to the model's ``num_person``.
    """
    from .input_spec import get_input_spec, to_model_tensor

    return to_model_tensor(seq, get_input_spec(model))


@dataclass
class LocalizationResult:
    """Segments of one recording plus what is needed to report and plot them."""

    input: str
    num_frames: int  # of the recording
    fps: float  # the recording's
    segments: list  # list[Segment], in the recording's frames and seconds
    class_names: tuple[str, ...]
    model_fps: float | None = None  # rate the model ran at (None: the recording's)
    format: str | None = None  # the recording's file format (detected or given)
    layout: str | None = None  # the recording's joint layout
    num_persons: int | None = None  # persons in the recording
    problems: tuple[str, ...] = ()  # what looked implausible about the recording (warned)

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "format": self.format, "layout": self.layout, "num_persons": self.num_persons,
                "num_frames": self.num_frames, "fps": self.fps,
                "model_fps": float(self.model_fps or self.fps), "duration_s": self.num_frames / self.fps,
                "warnings": list(self.problems), "segments": [s.to_dict() for s in self.segments]}


@torch.inference_mode()
def localize_sequence(model: nn.Module, seq: Any, *, name: str = "", method: str | None = None,
                      model_fps: ModelRate = "auto", fps: float | None = None, check: bool = True,
                      chunk: int | None = None, overlap: int | None = None, exact: bool | None = None,
                      **postprocess: Any) -> LocalizationResult:
    """Localize actions in one recording (a :class:`SkeletonSequence` or a file path) with a localization model:
    the one path of ``model.localize(recording)`` and ``skelzoo localize``.

    The recording goes through :func:`skelzoo.prepare` (resampled to ``model_fps``: ``"auto"``, the rate the
    weights expect; ``None`` / ``0``: keep the recording's rate; layout, persons, preprocessing); decoder
    parameters in frames (``smoothing``, ``min_duration``) count frames at that rate; ``method`` defaults to
    :data:`~skelzoo.localization.decode.DEFAULT_METHOD` with its default parameters. Segments are reported in
    the recording's frames and seconds.
    """
    from .decode import DEFAULT_METHOD, decoder_params
    from .input_spec import prepare

    if getattr(model, "task", None) != "localization":
        raise ValueError(f"{type(model).__name__} is not a localization model (task="
                         f"{getattr(model, 'task', None)!r}); pick one from `skelzoo list '*_ufusion'`")
    method = method or DEFAULT_METHOD
    postprocess = decoder_params(method, postprocess)
    p = prepare(seq, model, fps=fps, model_fps=model_fps, check=check)
    rec = p.sequence
    x = p.x
    segs = model.localize(x, fps=p.rate.model_fps, method=method, check=False, chunk=chunk, overlap=overlap,
                          exact=exact, **postprocess)[0]
    _log.info("%s: %d segment(s) (decoder %s %s)", name or rec.meta.get("source", "recording"), len(segs), method,
              postprocess or "paper defaults")
    return LocalizationResult(name or str(rec.meta.get("source", "")), rec.num_frames, rec.fps,
                              p.rate.segments_to_recording(segs), tuple(model.class_names), p.rate.model_fps,
                              format=rec.meta.get("format"), layout=rec.layout, num_persons=rec.num_persons,
                              problems=p.problems)


def _frame_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model.frame_features(x)``, chunked like ``predict_logits`` above its threshold (bounded memory on
    long recordings; chunked inference equals whole-sequence inference)."""
    from .localizer import CHUNK_THRESHOLD, DEFAULT_CHUNK

    if x.shape[2] > CHUNK_THRESHOLD and hasattr(model, "features_from_taps"):
        from .chunked import chunked_forward

        return chunked_forward(model, x, chunk=DEFAULT_CHUNK, features=True)
    return model.frame_features(x, check=False)  # the input was prepared (and checked) by the caller


@torch.inference_mode()
def extract_features(model: nn.Module, seq: Any, *, model_fps: ModelRate = "auto", fps: float | None = None,
                     check: bool = True) -> np.ndarray:
    """Per-frame features ``(T, D)`` of one recording (a :class:`SkeletonSequence` or a file path), one row per
    frame of the recording.

    The recording goes through :func:`skelzoo.prepare` (as in :func:`localize_sequence`). Localizers give
    their ``frame_features``; backbones the last feature map averaged over joints and over the persons
    present in the recording (the empty, zero-padded person slots of the model's ``num_person`` are left
    out), nearest-upsampled to the model input's frames. Features at the model's rate are then held over
    the recording frames each model frame stands for.
    """
    from .input_spec import prepare

    x, rate = prepare(seq, model, fps=fps, model_fps=model_fps, check=check)
    if hasattr(model, "frame_features"):
        feats = _frame_features(model, x)[0].cpu().numpy()
    else:
        fmap = model.forward_features(x).mean(dim=3)  # (1, D, T', M)
        present = x.abs().sum(dim=(0, 1, 2, 3)) > 0  # (M,)
        if not bool(present.any()):
            present = torch.ones_like(present)
        feat = fmap[..., present].mean(dim=-1)  # (1, D, T')
        idx = (torch.arange(x.shape[2], device=feat.device) * feat.shape[-1]) // x.shape[2]
        feats = feat[0, :, idx].T.cpu().numpy()
    return rate.features_to_recording(feats)
