"""Where a checkpoint lives and what it expects: one frozen record per ``arch.tag``.

:class:`WeightCfg` is the record; :func:`ntu_checkpoint` fills the fields every converted NTU RGB+D checkpoint
(3-D joints or 2-D HRNet keypoints) shares (licence, class names, layout, persons, frame rate,
preprocessing), so the weight tables in the family files list only what differs between checkpoints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..dataset_info import NTU60_CLASSES, NTU60_XSUB, NTU120_CLASSES, NTU120_XSUB, NTU_TERMS, PREPROCESS_DESCRIPTIONS

__all__ = ["WeightCfg", "ntu_checkpoint", "NTU_KEYPOINTS"]


@dataclass(frozen=True)
class WeightCfg:
    """Metadata of one published checkpoint.

    Exactly one location is set: ``file`` (bundled, relative to ``skelzoo/assets``), ``url`` (an original
    checkpoint converted on first use with ``convert_source``) or ``hf_hub_id`` (+ ``filename``, ``revision``).

    Attributes:
        tag: the part after the dot in ``arch.tag``.
        sha256: full sha256 of the file at the location (verified before use).
        hash_prefix: leading hex digits of the sha256 when only those are published (mmaction2 names).
        license: licence of the weights (they inherit the training data's and code's terms).
        source: human-readable provenance (paper, repository, training run).
        dataset / metrics: what it was trained and evaluated on, with the published or measured numbers.
        eval_dataset: where ``metrics`` were measured when that is not ``dataset`` (e.g. an encoder pretrained
            without labels on one split and evaluated through localizers on the test split).
        class_names: labels of the classifier / frame head (background excluded).
        layout / in_channels / num_person / fps / preprocess: what the input must look like.
        model_args: constructor overrides for this checkpoint (e.g. ``num_classes``, width).
        convert_source: for ``url`` weights, the converter source (``official``, ``pyskl``, ``mmaction2``).
        torso: median torso length (NTU SpineBase -> SpineShoulder, in the units of the model input) of the
            training data, for weights whose preprocessing does not rescale bodies (``ntu``): an input whose
            torso is far from it gets a warning (``skelzoo.prepare``).
        default: this tag is the architecture's default when ``pretrained=True``.
    """

    tag: str
    file: str | None = None
    url: str | None = None
    hf_hub_id: str | None = None
    filename: str = "model.safetensors"
    revision: str | None = None
    sha256: str | None = None
    hash_prefix: str | None = None
    license: str = "unknown"
    source: str = ""
    dataset: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    eval_dataset: str = ""
    class_names: tuple[str, ...] = ()
    layout: str = "ntu25"
    in_channels: int = 3
    num_person: int | None = None
    fps: float | None = None
    preprocess: str = ""
    model_args: Mapping[str, Any] = field(default_factory=dict)
    convert_source: str | None = None
    torso: float | None = None
    paper: str = ""
    description: str = ""
    default: bool = False

    def __post_init__(self) -> None:
        locs = [x for x in (self.file, self.url, self.hf_hub_id) if x]
        if len(locs) != 1:
            raise ValueError(f"weights {self.tag!r}: set exactly one of file=, url=, hf_hub_id=")
        if self.url and not self.convert_source:
            raise ValueError(f"weights {self.tag!r}: url= needs convert_source=")
        if self.preprocess not in PREPROCESS_DESCRIPTIONS:
            raise ValueError(f"weights {self.tag!r}: unknown preprocess code {self.preprocess!r} "
                             f"(known: {', '.join(repr(k) for k in PREPROCESS_DESCRIPTIONS)})")

    @property
    def location(self) -> str:
        if self.file:
            return f"bundled:{self.file}"
        if self.url:
            return self.url
        rev = f"@{self.revision}" if self.revision else ""
        return f"hf-hub:{self.hf_hub_id}{rev}/{self.filename}"


#: What differs between the NTU 3-D joint and the NTU 2-D (HRNet keypoint) checkpoints of pyskl / mmaction2:
#: dataset suffix, layout (their ``nturgb+d`` graph with pyskl hands / their ``coco`` graph), preprocessing.
NTU_KEYPOINTS = {
    "3d": ("3D joint", "ntu25_pyskl", "pyskl_ntu3d"),
    "2d": ("HRNet 2D", "coco17", "pyskl_2d"),  # keypoints estimated by HRNet, joint modality
}


def ntu_checkpoint(tag: str, *, url: str, convert_source: str, classes: int, top1: float, source: str,
                   description: str, model_args: Mapping[str, Any], paper: str,
                   hash_prefix: str | None = None, keypoints: str = "3d") -> WeightCfg:
    """A published pyskl / mmaction2 checkpoint trained on NTU RGB+D ``classes`` (60 or 120) X-Sub joints.

    Such checkpoints are converted on first use; they take 3 channels and 2 persons at 30 fps and carry the
    Apache-2.0 code licence plus the NTU dataset terms. ``top1`` is the published top-1 accuracy.
    ``keypoints="3d"``: Kinect 3-D joints, pyskl hand topology (``ntu25_pyskl``), pyskl's NTU
    pre-normalisation (``pyskl_ntu3d``). ``keypoints="2d"``: HRNet COCO-17 2-D keypoints (``coco17``;
    channels x, y, score) with pyskl's ``PreNormalize2D`` (``pyskl_2d``).
    """
    if classes not in (60, 120):
        raise ValueError(f"weights {tag!r}: NTU RGB+D has 60 or 120 classes, got {classes}")
    if keypoints not in NTU_KEYPOINTS:
        raise ValueError(f"weights {tag!r}: keypoints must be one of {sorted(NTU_KEYPOINTS)}, got {keypoints!r}")
    kind, layout, preprocess = NTU_KEYPOINTS[keypoints]
    if model_args.get("layout", layout) != layout:
        raise ValueError(f"weights {tag!r}: {keypoints} checkpoints use layout {layout!r}, model_args say "
                         f"{model_args['layout']!r}")
    split, names = (NTU60_XSUB, NTU60_CLASSES) if classes == 60 else (NTU120_XSUB, NTU120_CLASSES)
    return WeightCfg(
        tag=tag, url=url, hash_prefix=hash_prefix, convert_source=convert_source,
        license=f"Apache-2.0; {NTU_TERMS}", source=source, dataset=f"{split} ({kind})",
        metrics={"top1": top1}, class_names=names, layout=layout, in_channels=3, num_person=2,
        fps=30.0, preprocess=preprocess, model_args=model_args, paper=paper, description=description)
