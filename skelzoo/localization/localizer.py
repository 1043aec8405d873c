"""Frame-level action localization model: backbone -> (U-fusion neck | simple head) -> frame head.

Paper: SnipCLR, "Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action
Localization" (arXiv 2512.16504), official code github.com/cqs0925/SnipCLR (``model/agcn_Unet.py``,
U-shaped model) and ``model/agcn.py`` of line/Skeleton-Temporal-Action-Localization (simple head).
Own implementation from ``docs/method.md`` §4.

Letters: N batch, C channels, T frames, T' reduced frames, V joints, M persons, D feature width,
K = num_classes + 1 (the background class is the LAST index).

Two heads (``neck=``):

``"ufusion"``
    Three backbone taps (see :func:`select_taps`) are averaged over joints and persons and fused by
    :class:`~skelzoo.necks.UFusionNeck` into ``(N, 512, T)``; ``FrameHead`` gives ``(N, T, K)``.
``"simple"``
    The paper's baseline: last stage -> mean over joints and persons -> ``(N, T', D)`` -> ``Linear(D, K)``
    -> linear interpolation (``align_corners=True``) to T. :meth:`Localizer.frame_features` interpolates
    the features instead (the head is affine, so both orders give the same logits up to rounding).

Tap selection rule (:func:`select_taps`), from ``feature_info`` only: with the distinct temporal
reductions ``r_0 < r_1 < ... < r_k`` of the stages,

- tap 0 = the last stage at the smallest reduction ``r_0`` (the finest map),
- tap 1 = the last stage at the second-largest reduction ``r_{k-1}``,
- tap 2 = the last stage of the backbone (reduction ``r_k``).

For the localization AGCN-10 (reductions 1, 2, 4, 8) this gives l1, l7, l10 (stage indices 0, 6, 9),
exactly the SnipCLR taps; for 2s-AGCN / ST-GCN / CTR-GCN-style backbones (1, 2, 4) it gives l4, l7, l10,
the natural U-Net taps of ``docs/backbones.md``; for MS-G3D (three stages) all three stages. With fewer than
three distinct reductions the middle tap is the stage halfway between tap 0 and the last stage.
``taps=(i, j, k)`` overrides the rule.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..heads.frame import FrameHead, interpolate_frames
from ..necks.ufusion import UFusionNeck, pool_joints_persons
from . import chunked
from .decode import DEFAULT_METHOD
from .receptive_field import temporal_receptive_field
from .weights_input import WeightsInputMixin, check_skeleton_input

__all__ = ["Localizer", "select_taps", "temporal_receptive_field"]


def select_taps(feature_info: Sequence[dict]) -> tuple[int, int, int]:
    """Stage indices of the three U-fusion taps chosen from ``feature_info`` (rule in the module doc)."""
    reds = [int(fi["reduction"]) for fi in feature_info]
    n = len(reds)
    if n < 3:
        raise ValueError(f"a U-fusion neck needs at least three stages, the backbone has {n}")
    if any(b < a for a, b in zip(reds, reds[1:])):
        raise ValueError(f"stage reductions must be non-decreasing, got {reds}")
    distinct = sorted(set(reds))
    last_at = {r: max(i for i, x in enumerate(reds) if x == r) for r in distinct}
    first, last = last_at[distinct[0]], n - 1
    if len(distinct) >= 3:
        mid = last_at[distinct[-2]]
    else:
        mid = (first + last) // 2
        if mid == first:  # tap 0 is (next to) the last stage: take the three last stages
            first, mid = last - 2, last - 1
    taps = (first, mid, last)
    if len(set(taps)) != 3:
        raise ValueError(f"could not choose three distinct taps from reductions {reds}")
    return taps


class Localizer(WeightsInputMixin, nn.Module):
    """Backbone + U-fusion neck (or the simple head) + frame head: ``(N, C, T, V, M) -> (N, T, K)``.

    Args:
        backbone: a skelzoo :class:`~skelzoo.backbones._base.Backbone` (its classifier is not used).
        num_classes: number of action classes; ``K = num_classes + 1`` outputs, background LAST.
        neck: ``"ufusion"`` or ``"simple"``.
        taps: stage indices of the three neck taps (default :func:`select_taps`).
        neck_channels: output width D of the U-fusion neck (512 in the paper).
        dropout: dropout on the frame features before the frame head (0 in the paper).
        class_names: names of the ``num_classes`` action classes (optional).

    Attributes: ``task = "localization"``, ``num_classes``, ``class_names``, ``layout``, ``in_channels``,
    ``num_joints``, ``num_person``, ``min_frames``, ``receptive_field`` (frames, local bound),
    ``total_reduction`` (largest temporal reduction used), ``num_features`` (D), ``tap_indices``.
    """

    task = "localization"

    def __init__(self, backbone: nn.Module, *, num_classes: int = 4, neck: str = "ufusion",
                 taps: Sequence[int] | None = None, neck_channels: int = 512, dropout: float = 0.0,
                 class_names: Sequence[str] | None = None) -> None:
        super().__init__()
        if neck not in ("ufusion", "simple"):
            raise ValueError(f"neck must be 'ufusion' or 'simple', got {neck!r}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1 action classes (background is added), got {num_classes}")
        self.backbone = backbone
        self.neck_type = neck
        info = backbone.feature_info
        n_stages = len(info)
        if neck == "ufusion":
            idx = tuple(int(i) % n_stages for i in taps) if taps is not None else select_taps(info)
            if len(idx) != 3 or sorted(idx) != list(idx) or len(set(idx)) != 3:
                raise ValueError(f"taps must be three increasing stage indices, got {taps}")
            self.tap_indices: tuple[int, ...] = idx
            self.neck: nn.Module | None = UFusionNeck([info[i]["num_chs"] for i in idx], neck_channels,
                                                      [info[i]["reduction"] for i in idx])
            self.num_features = neck_channels
        else:
            if taps is not None:
                raise ValueError("taps are only used by neck='ufusion'")
            self.tap_indices = (n_stages - 1,)
            self.neck = None
            self.num_features = int(info[-1]["num_chs"])
        self.tap_reductions = tuple(int(info[i]["reduction"]) for i in self.tap_indices)
        self.total_reduction = max(self.tap_reductions)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = FrameHead(self.num_features, num_classes)
        self.num_classes = num_classes
        self.class_names = tuple(class_names or ())
        if self.class_names and len(self.class_names) != num_classes:
            raise ValueError(f"class_names has {len(self.class_names)} entries for {num_classes} classes")
        # input description, from the backbone
        self.in_channels = backbone.in_channels
        self.layout = backbone.layout
        self.num_joints = backbone.num_joints
        self.num_person = backbone.num_person
        self.fixed_num_person = getattr(backbone, "fixed_num_person", True)
        rf = temporal_receptive_field(backbone, self.tap_indices[-1])
        if self.neck is not None:
            rf += self.neck.receptive_field
        else:
            rf += 2 * self.total_reduction  # linear interpolation mixes two coarse steps
        self.receptive_field = rf

    # ------------------------------------------------------------------------------------------ checks
    @property
    def min_frames(self) -> int:
        return max(1, int(getattr(self.backbone, "min_frames", 1)))

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is a finite ``(N, C, T, V, M)`` tensor this model accepts."""
        check_skeleton_input(x, in_channels=self.in_channels, num_joints=self.num_joints,
                             num_person=self.num_person if self.fixed_num_person else None,
                             min_frames=self.min_frames, what=f"{type(self).__name__}({self.neck_type})")

    # ------------------------------------------------------------------------------------------ pieces
    def pooled_taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Backbone taps averaged over joints and persons: ``[(N, C_i, ⌈T/R_i⌉)]`` (no input check)."""
        feats = self.backbone.forward_intermediates(x, list(self.tap_indices))
        return [pool_joints_persons(f) for f in feats]

    def features_from_taps(self, taps: Sequence[torch.Tensor], length: int) -> torch.Tensor:
        """Frame features ``(N, D, length)`` from :meth:`pooled_taps`."""
        if self.neck is not None:
            return self.neck(taps, length)
        coarse = taps[-1]
        return interpolate_frames(coarse.transpose(1, 2), length).transpose(1, 2)

    def logits_from_taps(self, taps: Sequence[torch.Tensor], length: int) -> torch.Tensor:
        """Frame logits ``(N, length, K)`` from :meth:`pooled_taps`."""
        if self.neck is not None:
            return self.head(self.drop(self.neck(taps, length)))
        coarse = self.head(self.drop(taps[-1]))  # (N, T', K)
        return interpolate_frames(coarse, length)

    # ------------------------------------------------------------------------------------------ public
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V, M)`` -> frame logits ``(N, T, K)`` (K = num_classes + 1, background last)."""
        self.check_input(x)
        return self.logits_from_taps(self.pooled_taps(x), x.shape[2])

    def frame_features(self, x: Any, *, fps: float | None = None, model_fps: Any = "auto",
                       check: bool = True) -> torch.Tensor:
        """Per-frame embeddings (the frame head's input).

        ``x``: a model-ready tensor ``(N, C, T, V, M)`` -> ``(N, T, D)``; or a recording (a
        :class:`~skelzoo.io.SkeletonSequence` or a file path) -> ``(1, T, D)`` with one row per frame of the
        recording, after the weights' preprocessing and resampling (:func:`skelzoo.prepare`; ``fps``
        overrides the recording's rate, ``model_fps`` as there). A tensor that does not look like the
        training input gets an ``InputWarning`` in eval mode (``check=False``: never).
        """
        if not isinstance(x, torch.Tensor):
            from .pipeline import extract_features
            feats = extract_features(self, x, model_fps=model_fps, fps=fps, check=check)
            return torch.from_numpy(feats)[None]
        self.check_input(x)
        if check and not self.training:
            self._warn_if_unprepared(x, fps)
        return self.features_from_taps(self.pooled_taps(x), x.shape[2]).transpose(1, 2)

    def _warn_if_unprepared(self, x: torch.Tensor, fps: float | None, stacklevel: int = 4) -> None:
        from .input_spec import HOW_TO_PREPARE, get_input_spec, tensor_problems, warn_problems

        spec = get_input_spec(self)
        trained = bool((getattr(self, "skelzoo_config", None) or {}).get("tag") or spec.preprocess)
        problems = tensor_problems(x, spec, fps, trained=trained)
        if problems:
            warn_problems(problems + [HOW_TO_PREPARE], "the input tensor does not look like these weights' "
                                                       "training input", stacklevel=stacklevel)

    @torch.no_grad()
    def predict_logits(self, x: torch.Tensor, *, chunk: int | None = None, overlap: int | None = None,
                       exact: bool | None = None) -> torch.Tensor:
        """Frame logits ``(N, T, K)`` without gradients; chunked (bounded memory) when ``T`` exceeds
        :data:`~skelzoo.localization.chunked.CHUNK_THRESHOLD` or ``chunk`` is given (``chunk=0`` forces
        whole-sequence inference).

        Chunked inference equals whole-sequence inference; for backbones with whole-sequence statistics
        (2s-AGCN, AAGCN, CTR-GCN) it streams them first, which costs extra passes (``exact=False``: cheaper
        window-level statistics, approximate; see :mod:`skelzoo.localization.chunked`)."""
        from .chunked import chunked_forward

        t = x.shape[2] if x.dim() == 5 else 0
        if chunk is None:
            chunk = chunked.DEFAULT_CHUNK if t > chunked.CHUNK_THRESHOLD else 0
        if chunk and t > chunk:
            return chunked_forward(self, x, chunk=chunk, overlap=overlap, exact=exact)
        return self(x)

    @torch.no_grad()
    def localize(self, x: Any, fps: float | None = None, method: str = DEFAULT_METHOD, *,
                 lengths: Sequence[int] | None = None, chunk: int | None = None,
                 overlap: int | None = None, exact: bool | None = None, model_fps: Any = "auto",
                 check: bool = True, **postprocess: Any) -> list[list[Any]]:
        """Scored action segments of every sequence of a batch.

        Args:
            x: a recording (a :class:`~skelzoo.io.SkeletonSequence` from :func:`skelzoo.read_skeleton`, or a
                file path), a list of recordings, or a model-ready tensor ``(N, C, T, V, M)``. A recording goes
                through the weights' preprocessing (:func:`skelzoo.prepare`: layout, persons, normalisation,
                resampling to the model's frame rate) and its segments come back in the recording's own frames
                and seconds: the path of ``skelzoo localize``. A tensor is used as is (zero-padded sequences
                may give their valid ``lengths``); one that does not look like the training input gets an
                :class:`~skelzoo.errors.InputWarning` (``check=False``: none).
            fps: a tensor's frame rate (for ``start_s`` / ``end_s``; default the model's,
                ``model.input_spec.fps``); for a recording, overrides its rate.
            method: ``"argmax"`` (default: run-length segments of the smoothed frame argmax, one label per
                frame; ``smoothing`` 5 and ``min_duration`` 8 frames unless given) or ``"official"``
                (SnipCLR/LINE multi-threshold proposals + NMS: overlapping, ranked, for mAP).
            lengths: valid frames per sequence of a tensor batch (default: all T).
            chunk / overlap: chunked inference (default automatic above
                :data:`~skelzoo.localization.chunked.CHUNK_THRESHOLD` frames).
            exact: chunked inference of a backbone with whole-sequence statistics streams them first
                (default, exact); ``False`` uses window-level statistics (faster, approximate).
            model_fps: for recordings, the rate to resample to (``"auto"``: the weights'; ``None``: keep).
            postprocess: decoder parameters (see :func:`skelzoo.localization.decode.decode`); frame counts
                are frames at the model's rate.

        Returns:
            one list of :class:`~skelzoo.localization.segments.Segment` per batch item (per recording).
        """
        from .decode import decode, decoder_params

        if not isinstance(x, torch.Tensor):
            from .input_spec import Recording  # noqa: F401  (documentation of the accepted types)
            from .pipeline import localize_sequence
            recs = list(x) if isinstance(x, (list, tuple)) else [x]
            if lengths is not None:
                raise ValueError("lengths= is for padded tensor batches, not for recordings")
            return [localize_sequence(self, r, method=method, model_fps=model_fps, fps=fps, check=check,
                                      chunk=chunk, overlap=overlap, exact=exact, **postprocess).segments
                    for r in recs]
        postprocess = decoder_params(method, postprocess)
        if fps is None:
            fps = self.input_spec.fps
        if check:
            self._warn_if_unprepared(x, fps, stacklevel=5)  # (+1: the no_grad wrapper)
        was_training = self.training
        self.eval()
        try:
            logits = self.predict_logits(x, chunk=chunk, overlap=overlap, exact=exact)
        finally:
            self.train(was_training)
        if lengths is not None and len(lengths) != logits.shape[0]:
            raise ValueError(f"lengths has {len(lengths)} entries for a batch of {logits.shape[0]}")
        names = list(self.class_names) if self.class_names else None
        out = []
        for b in range(logits.shape[0]):
            ln = None if lengths is None else int(lengths[b])
            out.append(decode(logits[b].float(), method=method, fps=fps, class_names=names,
                              input_kind="logits", length=ln, **postprocess))
        return out

    # ------------------------------------------------------------------------------------------ head
    def reset_classifier(self, num_classes: int) -> None:
        """Replace the frame head by a freshly initialised ``Linear(D -> num_classes + 1)``."""
        p = next(self.head.parameters())
        self.head = FrameHead(self.num_features, num_classes).to(device=p.device, dtype=p.dtype)
        self.num_classes = num_classes
        self.class_names = ()

    def classifier_keys(self) -> list[str]:
        """State-dict keys of the frame head (dropped when ``num_classes`` changes)."""
        return [k for k in self.state_dict() if k.startswith("head.")]

    def extra_repr(self) -> str:
        return (f"neck={self.neck_type!r}, taps={self.tap_indices}, num_classes={self.num_classes}, "
                f"receptive_field={self.receptive_field}")
