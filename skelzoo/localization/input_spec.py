"""What a checkpoint expects as input, and the one public function that brings a recording there.

As torchvision's ``weights.transforms()``, the preprocessing belongs to the weights: every model loaded by
:func:`skelzoo.load_model` knows the input it was trained with (:class:`InputSpec`: layout, channels,
number of persons, frame rate, preprocessing code; ``model.input_spec``), and :func:`prepare` applies it::

    seq = skelzoo.read_skeleton("recording.skeleton")
    x, rate = skelzoo.prepare(seq, model)        # (1, C, T', V, M) at the model's rate + the way back
    segments = model.localize(seq)[0]            # the same path, done for you, in the recording's frames

Raw tensors that do not look like the training input (un-normalised coordinates, all zeros, another frame
rate, absurd scale) get an :class:`~skelzoo.errors.InputWarning` naming what to call instead
(:func:`tensor_problems`); implausible recordings get one too (:func:`recording_problems`).
"""
from __future__ import annotations

import logging
import os
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Union

import numpy as np
import torch
from torch import nn

from ..errors import InputWarning
from ..io.sequence import SkeletonSequence
from .rate import ModelRate, RateChange, expected_fps, resolve_model_fps, to_model_rate

__all__ = ["InputSpec", "get_input_spec", "Prepared", "prepare", "as_sequence", "recording_problems",
           "tensor_problems", "warn_problems", "Recording", "HOW_TO_PREPARE"]

_log = logging.getLogger("skelzoo")

#: what a user can pass where a recording is expected
Recording = Union[SkeletonSequence, str, "os.PathLike[str]"]

#: the advice every input warning ends with
HOW_TO_PREPARE = ("pass the recording itself (model.localize(skelzoo.read_skeleton(path))) or a tensor from "
                  "skelzoo.prepare(seq, model)")

#: plausible body size (metres; the largest extent of one skeleton in one frame) of 3-D training data
BODY_SIZE_RANGE = (0.2, 4.0)
#: largest coordinate magnitude (metres) still plausible for 3-D input
MAX_ABS_COORD = 20.0
#: relative frame-rate difference above which a tensor's ``fps`` is "far" from the model's
FPS_TOLERANCE = 0.25


@dataclass(frozen=True)
class InputSpec:
    """The input a checkpoint was trained with (what :func:`prepare` produces).

    Attributes:
        layout: joint layout name (``skelzoo.layouts``), e.g. ``"ntu25"``.
        in_channels: coordinate channels ``C``.
        num_joints: joints ``V``.
        num_person: persons ``M`` the model was trained with (recordings are cut / zero-padded to it).
        fps: frame rate of the training data; recordings are resampled to it.
        preprocess: preprocessing code (``skelzoo.dataset_info.PREPROCESS_DESCRIPTIONS``; ``""`` = none).
    """

    layout: str
    in_channels: int
    num_joints: int
    num_person: int | None
    fps: float
    preprocess: str = ""
    torso: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def preprocess_description(self) -> str:
        from ..dataset_info import PREPROCESS_DESCRIPTIONS
        return PREPROCESS_DESCRIPTIONS.get(self.preprocess, f"unknown code {self.preprocess!r}")

    def __str__(self) -> str:
        persons = "any number of persons" if self.num_person is None else f"M={self.num_person}"
        return (f"layout {self.layout} (V={self.num_joints}), C={self.in_channels}, {persons}, {self.fps:g} fps, "
                f"preprocessing {self.preprocess or 'none'!r}")


def get_input_spec(model: nn.Module, name: str = "") -> InputSpec:
    """The :class:`InputSpec` of ``model``, read from what the model carries (``layout``, ``in_channels``,
    ``num_joints``, ``num_person``, ``preprocess``, and the frame rate of :func:`expected_fps`: its weights'
    ``fps``, else 30). Also available as ``model.input_spec``."""
    cfg_args = (getattr(model, "skelzoo_config", None) or {}).get("model_args", {})
    layout = getattr(model, "layout", None) or cfg_args.get("layout") or "ntu25"
    num_joints = getattr(model, "num_joints", None)
    if num_joints is None:
        from ..layouts import get_layout
        num_joints = get_layout(layout).num_joints
    m = getattr(model, "num_person", None)
    return InputSpec(layout=str(layout), in_channels=int(getattr(model, "in_channels", 3)),
                     num_joints=int(num_joints), num_person=int(m) if m else None,
                     fps=float(expected_fps(model, name)), preprocess=str(getattr(model, "preprocess", "") or ""),
                     torso=(getattr(model, "skelzoo_config", None) or {}).get("torso"))


@dataclass
class Prepared:
    """Result of :func:`prepare`; unpacks as ``x, rate = prepare(seq, model)``.

    Attributes:
        x: float32 ``(1, C, T', V, M)`` on the model's device, at the model's frame rate.
        rate: :class:`~skelzoo.localization.pipeline.RateChange` mapping model frames back to the recording's.
        sequence: the recording as read (before any change): its ``fps``, ``layout``, ``meta["format"]``.
        problems: what looked implausible about the recording (each also issued as an ``InputWarning``).
    """

    x: torch.Tensor
    rate: RateChange
    sequence: SkeletonSequence
    problems: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        return iter((self.x, self.rate))


def as_sequence(recording: Recording, *, format: str | None = None) -> SkeletonSequence:
    """A :class:`SkeletonSequence` as is, or the file at a path read with :func:`skelzoo.read_skeleton`
    (the detected format is kept in ``meta["format"]``)."""
    if isinstance(recording, SkeletonSequence):
        return recording
    if isinstance(recording, (str, os.PathLike)):
        from ..io import detect_format, read_skeleton
        fmt = format or detect_format(recording)
        seq = read_skeleton(recording, format=fmt)
        seq.meta.setdefault("format", fmt)
        seq.meta.setdefault("source", os.fspath(recording))
        _log.info("read %s: format %s, %d frames at %g fps, %d person(s), layout %s", os.fspath(recording), fmt,
                  seq.num_frames, seq.fps, seq.num_persons, seq.layout)
        return seq
    raise TypeError(f"expected a SkeletonSequence or a file path, got {type(recording).__name__}")


def _body_size(data: np.ndarray, present: np.ndarray) -> float | None:
    """Median over present (frame, person) of the largest extent of the skeleton: ``data`` (T, M, V, C)."""
    if not present.any():
        return None
    d = data[present]  # (P, V, C)
    valid = np.isfinite(d).all(-1) & (d != 0).any(-1)  # (P, V)
    big = np.where(valid[..., None], d, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        extent = np.nanmax(big, axis=1) - np.nanmin(big, axis=1)  # (P, C)
        size = np.nanmax(extent, axis=1)
    size = size[np.isfinite(size)]
    return float(np.median(size)) if size.size else None


def recording_problems(seq: SkeletonSequence) -> list[str]:
    """What makes ``seq`` an implausible recording of a person: no skeleton at all (zeros / missing only),
    a skeleton that never moves, or a 3-D body size far from a human's in metres. Empty when plausible."""
    data = seq.data
    finite = np.isfinite(data).all(-1)  # (T, M, V)
    valid = finite & (np.nan_to_num(data) != 0).any(-1)
    if not valid.any():
        what = "missing (NaN)" if not finite.any() else "zero or missing"
        return [f"no skeleton: every joint of all {seq.num_frames} frames is {what}"]
    out = []
    present = valid.any(-1)  # (T, M)
    vals = np.where(valid[..., None], data, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        span = np.nanmax(vals, axis=0) - np.nanmin(vals, axis=0)  # (M, V, C)
    if seq.num_frames > 1 and present.sum(0).max() > 1 and not (np.nan_to_num(span) > 1e-6).any():
        out.append(f"the skeleton never moves: all {seq.num_frames} frames are identical")
    if seq.num_channels == 3:
        size = _body_size(data, present)
        lo, hi = BODY_SIZE_RANGE
        if size is not None and not lo <= size <= hi:
            hint = ("centimetres, millimetres or pixels?" if size > hi else "normalised coordinates?")
            out.append(f"implausible scale: a body spans {size:.3g} units, a person in metres spans "
                       f"{lo:g}-{hi:g} ({hint}); skelzoo's readers give metres")
    frac = 1.0 - present.any(-1).mean()
    if frac > 0.5:
        out.append(f"no skeleton in {100 * frac:.0f} % of the frames")
    return out


def tensor_problems(x: torch.Tensor, spec: InputSpec, fps: float | None = None, *, trained: bool = True) -> list[str]:
    """Why a model-input tensor ``(N, C, T, V, M)`` does not look like the training input of ``spec``:
    all zeros, constant, coordinates far outside the range or a body size that is not metres, the NTU
    pre-normalisation not applied (spine joint of person 0 not at the origin), or ``fps`` far from the model's
    rate (scale and rate only for ``trained`` weights: a random-init model has no training input). Empty when
    it looks right. Shape errors are the model's ``check_input``'s job."""
    if not isinstance(x, torch.Tensor) or x.dim() != 5 or x.numel() == 0:
        return []
    out = []
    xf = x.detach().float()
    if not bool(torch.isfinite(xf).all()):
        return []  # the model's own check raises on it
    if trained and fps is not None and spec.fps and abs(fps / spec.fps - 1.0) > FPS_TOLERANCE:
        out.append(f"fps={fps:g} but the weights were trained at {spec.fps:g} fps (speeds look "
                   f"{fps / spec.fps:.2g}x off); resample it")
    if not bool((xf != 0).any()):
        return out + ["the input is all zeros (no skeleton)"]
    if xf.shape[2] > 1 and bool((xf == xf[:, :, :1]).all()):
        out.append("the input never changes over time (a constant skeleton)")
    if trained and spec.in_channels == 3 and xf.shape[1] == 3 and spec.preprocess not in ("coco2d", "pyskl_2d"):
        biggest = float(xf.abs().max())
        data = xf.permute(0, 2, 4, 3, 1).reshape(-1, xf.shape[4], xf.shape[3], 3).cpu().numpy()  # (N*T, M, V, C)
        present = (data != 0).any(axis=(2, 3))
        size = _body_size(data, present)
        lo, hi = BODY_SIZE_RANGE
        if biggest > MAX_ABS_COORD or (size is not None and not lo <= size <= hi):
            out.append(f"coordinates far outside the training range (|x| up to {biggest:.3g}, body size "
                       f"{size if size is not None else float('nan'):.3g}; the model was trained on metres)")
        if spec.preprocess in ("ntu", "ntu_bodysize", "pyskl_ntu3d"):
            centre = xf[:, :, :, 1, 0]  # (N, C, T): joint 1 (spine) of person 0
            body = (xf[:, :, :, :, 0] != 0).any(dim=1).any(dim=-1)  # (N, T): person 0 present
            if spec.preprocess == "pyskl_ntu3d":
                centre, body = centre[:, :, :1], body[:, :1]
            off = centre.abs().amax(dim=1)[body]
            if off.numel() and float(off.max()) > 1e-3:
                out.append(f"it is not pre-normalised as the weights expect (preprocessing {spec.preprocess!r}: "
                           f"spine joint of person 0 at the origin; here it is up to {float(off.max()):.3g} away)")
    return out


def warn_problems(problems: list[str], what: str, stacklevel: int = 3) -> None:
    """Issue one :class:`InputWarning` listing ``problems`` of ``what`` (nothing when empty)."""
    if problems:
        warnings.warn(f"{what}: " + "; ".join(problems), InputWarning, stacklevel=stacklevel)


def _device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def is_keypoints_2d(seq: SkeletonSequence) -> bool:
    """Whether ``seq`` holds 2-D keypoints (image x, y; the output of a video pose estimator) rather than 3-D
    skeletons: two coordinate channels."""
    return seq.num_channels == 2


def to_model_tensor(seq: SkeletonSequence, spec: InputSpec) -> torch.Tensor:
    """``seq`` (already at the model's rate) -> ``(1, C, T, V, M)`` float32 as ``spec`` wants it: layout
    conversion (missing joints filled from neighbours), missing joints interpolated, persons selected /
    zero-padded, the preprocessing applied, channels checked."""
    from ..data import transforms

    src_layout = seq.layout
    if seq.layout != spec.layout:
        from ..io.layout_conversion import convert_layout
        _log.info("converting layout %s -> %s", seq.layout, spec.layout)
        seq = convert_layout(seq, spec.layout, fill="neighbour")
    data = seq.data
    if spec.preprocess == "coco2d":  # 2-D keypoints: x, y + the score channel (missing points: score 0)
        from ..data.norm2d import with_scores
        if data.shape[-1] != 2:
            raise ValueError(f"the model expects 2-D keypoints (x, y, score; preprocessing 'coco2d'), the "
                             f"recording has C={data.shape[-1]} coordinates: use a 3-D model for 3-D skeletons")
        data = with_scores(data, seq.confidence)
    elif spec.preprocess == "pyskl_2d":  # pyskl PreNormalize2D + GenSkeFeat: x', y', score (skelzoo.data.pyskl2d)
        from ..data.pyskl2d import image_size_of, pyskl_2d_input
        if data.shape[-1] != 2:
            raise ValueError(f"the model expects 2-D keypoints (x, y, score; preprocessing 'pyskl_2d'), the "
                             f"recording has C={data.shape[-1]} coordinates: use a 3-D model for 3-D skeletons")
        size, how = image_size_of(seq.meta)
        _log.info("pyskl PreNormalize2D with image size %gx%g (%s)", size[0], size[1], how)
        data = pyskl_2d_input(data, seq.confidence, size)  # before persons are padded: pads stay zero
    elif spec.preprocess in ("ntu", "ntu_bodysize", "pyskl_ntu3d") and data.shape[-1] == 2:
        raise ValueError(
            f"{seq.meta.get('source') or 'this recording'} holds 2-D keypoints (x, y; layout {src_layout}) but "
            f"the selected model expects 3-D skeletons (C={spec.in_channels}, preprocessing "
            f"{spec.preprocess!r}): no 2-D model is selected. Pick a model trained on 2-D keypoints "
            "(preprocessing 'coco2d' or 'pyskl_2d': `skelzoo list` shows the input of every model) with --model / "
            "skelzoo.load_model(...), or give a 3-D recording")
    if not np.isfinite(data).all():
        data = transforms.fill_missing(data)
    m = spec.num_person or data.shape[1]
    if m != data.shape[1]:
        _log.info("persons: %d in the recording -> %d for the model (most energetic kept, zero-padded)",
                  data.shape[1], m)
    data = transforms.select_persons(data, m)
    if spec.preprocess in ("ntu", "ntu_bodysize"):
        data = transforms.pre_normalize(data)
        if spec.preprocess == "ntu_bodysize":
            torso = transforms.torso_length(data)
            data = transforms.normalise_body_size(data, length=torso)
            _log.info("body size: torso %.3g -> %g", torso, transforms.BODY_SIZE_TARGET)
    elif spec.preprocess == "pyskl_ntu3d":  # PreNormalize3D centring + rotations, every frame kept
        data = transforms.ntu_pre_normalise(data, pad_null_frames=False, center="first_frame")
    elif spec.preprocess == "coco2d":
        from ..data.norm2d import normalise_2d
        data = normalise_2d(data)
    elif spec.preprocess not in ("", "none", "pyskl_2d"):
        raise ValueError(f"unknown preprocessing {spec.preprocess!r} requested by the model "
                         f"(known: 'ntu', 'ntu_bodysize', 'pyskl_ntu3d', 'coco2d', 'pyskl_2d', '')")
    if spec.preprocess:
        _log.info("preprocessing %r applied", spec.preprocess)
    if data.shape[-1] != spec.in_channels:
        raise ValueError(f"the model expects C={spec.in_channels} channels per joint, the sequence has "
                         f"{data.shape[-1]}")
    return torch.from_numpy(np.ascontiguousarray(data.transpose(3, 0, 2, 1)))[None].float()


def prepare(recording: Recording, model: nn.Module, *, fps: float | None = None, model_fps: ModelRate = "auto",
            format: str | None = None, check: bool = True, name: str = "") -> Prepared:
    """Bring a recording into the form ``model``'s weights were trained with.

    Args:
        recording: a :class:`SkeletonSequence` or a file path (read with :func:`skelzoo.read_skeleton`).
        model: a skelzoo model (its :class:`InputSpec`, ``model.input_spec``).
        fps: override the recording's frame rate (e.g. a file whose header is wrong).
        model_fps: the rate to resample to: ``"auto"`` (the weights' rate), a rate, or ``None`` / ``0`` to
            keep the recording's rate.
        format: the file format when ``recording`` is a path (default: detected).
        check: warn (:class:`~skelzoo.errors.InputWarning`) about implausible recordings.
        name: the name the model was loaded by (for the registered frame rate of bare models).

    Returns:
        :class:`Prepared`: ``x`` ``(1, C, T', V, M)`` on the model's device and the
        :class:`~skelzoo.localization.pipeline.RateChange` back to the recording's frames
        (``x, rate = prepare(seq, model)``).
    """
    seq = as_sequence(recording, format=format)
    if fps is not None:
        if not fps > 0:
            raise ValueError(f"fps must be a frame rate > 0, got {fps}")
        seq = seq.replace(fps=float(fps))
    problems = recording_problems(seq) if check else []
    if problems:
        src = seq.meta.get("source") or "recording"
        warn_problems(problems, f"{src} looks implausible", stacklevel=3)
    spec = get_input_spec(model, name)
    resampled, rate = to_model_rate(seq, resolve_model_fps(model, model_fps, name=name))
    if rate.resampled:
        _log.info("resampled %g fps -> %g fps (%d -> %d frames)", rate.recording_fps, rate.model_fps,
                  seq.num_frames, resampled.num_frames)
    if rate.notes and check:
        warn_problems(list(rate.notes), str(seq.meta.get("source") or "recording"), stacklevel=3)
        problems = problems + list(rate.notes)
    x = to_model_tensor(resampled, spec).to(_device(model))
    size = body_size_problem(x, spec) if check else None
    if size:
        warn_problems([size], str(seq.meta.get("source") or "recording"), stacklevel=3)
        problems = problems + [size]
    return Prepared(x, rate, seq, tuple(problems))


#: preprocessing codes that bring every body to one size (no body-size warning for them)
RESCALING_PREPROCESS = ("ntu_bodysize", "coco2d", "pyskl_2d")
#: input torso / training torso beyond which :func:`body_size_problem` warns (either way)
TORSO_RATIO_LIMIT = 1.3


def body_size_problem(x: torch.Tensor, spec: InputSpec) -> str | None:
    """A warning when the body in the model input ``x`` ``(1, C, T, V, M)`` is far from the size the weights
    were trained on (``spec.torso``; only for NTU-25 inputs of weights whose preprocessing does not rescale
    bodies), else ``None``. Skeletons of other sensors differ in size: a Kinect adult's torso is about twice the
    Bandai-Namco mocap rig's."""
    if not spec.torso or spec.preprocess in RESCALING_PREPROCESS or spec.layout != "ntu25" or x.shape[1] != 3 \
            or x.shape[3] != 25:
        return None
    from ..data.transforms import torso_length

    data = x[0].detach().float().permute(1, 3, 2, 0).cpu().numpy()  # (T, M, V, C)
    torso = torso_length(data)
    if not torso or not np.isfinite(torso):
        return None
    ratio = torso / spec.torso
    if 1 / TORSO_RATIO_LIMIT <= ratio <= TORSO_RATIO_LIMIT:
        return None
    return (f"body size: the torso measures {torso:.3g}, the weights were trained on bodies with a torso of "
            f"{spec.torso:.3g} ({ratio:.2g}x) and their preprocessing {spec.preprocess!r} does not rescale; "
            "expect worse results (models with preprocessing 'ntu_bodysize', such as the default localizer, "
            "rescale every body)")


def pretrained_cfg(model: nn.Module) -> dict[str, Any]:
    """What the weights of ``model`` are and what they expect (``model.pretrained_cfg``): ``architecture``,
    ``tag``, ``name`` (``arch.tag`` when registered), ``task``, ``class_names`` and ``input_spec``."""
    cfg = getattr(model, "skelzoo_config", None) or {}
    arch, tag = cfg.get("architecture"), cfg.get("tag")
    return {"architecture": arch, "tag": tag, "name": f"{arch}.{tag}" if arch and tag else arch,
            "task": getattr(model, "task", None), "class_names": list(getattr(model, "class_names", ()) or ()),
            "input_spec": get_input_spec(model).to_dict()}
