"""Where a checkpoint lives and what it expects: one frozen record per ``arch.tag``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["WeightCfg"]


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
    paper: str = ""
    description: str = ""
    default: bool = False

    def __post_init__(self) -> None:
        locs = [x for x in (self.file, self.url, self.hf_hub_id) if x]
        if len(locs) != 1:
            raise ValueError(f"weights {self.tag!r}: set exactly one of file=, url=, hf_hub_id=")
        if self.url and not self.convert_source:
            raise ValueError(f"weights {self.tag!r}: url= needs convert_source=")
        from ..datasets_meta import PREPROCESS_DESCRIPTIONS
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
