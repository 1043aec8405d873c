"""Contrastive pretraining entry point (SnipCLR / SkeletonCLR): config, data, views, loop, encoder export.

``pretrain(cfg)`` trains :class:`~skelzoo.contrastive.SnipCLR` (or ``SkeletonCLR``) with :class:`Trainer` and
writes the query encoder's backbone as a skelzoo folder ``<output_dir>/encoder`` (``config.json`` +
``model.safetensors`` + card), loadable by ``skelzoo.load_model("local-dir:<output_dir>/encoder")`` and by
the finetuning config (``model.pretrained``).

Data: fixed windows of ``data.clip_frames`` frames (zero-padded; one random window per sequence and epoch,
shared by all views: the clean reading of docs/method.md §11.16) from the ``data.split`` sequences of a prepared
directory (labels unused). Views per batch (docs/method.md §3.1): query = crop + shear + noise + blur + axis mask,
key = crop + shear, each crop/shear drawn independently; with ``model.relative_tempo`` every view is then
resampled to ``data.view_frames`` frames at tempo 1 or 2 (half of the batch each), and an other-tempo key is
made from the key view.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from ..data.augment import AugmentConfig, augment_view, tempo_resample, valid_lengths
from ..data.transforms import body_size_transform, preprocess_code  # noqa: F401 (also public here)
from .trainer import (
    OptimConfig,
    RunConfig,
    StepContext,
    Trainer,
    config_to_dict,
    dist_info,
    init_distributed,
    load_checkpoint,
    seed_everything,
)

__all__ = ["PretrainConfig", "PretrainDataConfig", "PretrainModelConfig", "PretrainEvalConfig", "build_pretrain_model",
           "pretrain",
           "make_views"]

log = logging.getLogger(__name__)


@dataclass
class PretrainDataConfig:
    """Where the pretraining sequences come from."""

    #: ``"prepared"``: a prepared directory (``root``); ``"synthetic"``: generated into ``<output_dir>/data``
    kind: Literal["prepared", "synthetic"] = "prepared"
    #: one prepared directory, or several (their ``split`` sequences are pooled: e.g. composed untrimmed
    #: sequences + every trimmed clip of the same styles)
    root: str | list[str] | None = None
    split: str = "train"
    #: window per sequence (longer: random window; shorter: zero-padded)
    clip_frames: int = 300
    #: frames of the tempo views (relative tempo only; 150 in the paper)
    view_frames: int = 150
    num_persons: int | None = 1
    #: scale every sequence to a common torso length after loading (``normalise_body_size``); the exported
    #: encoder then records the preprocessing ``"ntu_bodysize"`` so that inference does the same
    body_size: bool = False
    synthetic_sequences: int = 32
    synthetic_seconds: float = 12.0
    synthetic_seed: int = 0


@dataclass
class PretrainModelConfig:
    """Pretraining model (docs/method.md §3.2-3.6); defaults are the paper's."""

    method: Literal["snipclr", "skeletonclr"] = "snipclr"
    backbone: str = "agcn_loc"
    backbone_args: dict[str, Any] = field(default_factory=dict)
    feature_dim: int = 128
    queue_size: int = 32768
    momentum: float = 0.999
    temperature: float = 0.07
    mlp: bool = False
    relative_tempo: bool = True
    #: nearest-neighbour mining from epoch ``mining_epoch + 1`` (None = never; paper: 200)
    mining_epoch: int | None = 200
    mining_topk: int = 1
    init: Literal["moco", "backbone"] = "moco"
    num_snippets: int = 19
    snippet_weight: float = 1.5
    snippet_match: Literal["argmax", "cosine", "index"] = "argmax"
    snippet_key: Literal["auto", "key", "key_tempo"] = "auto"
    snippet_queue_size: int | None = None
    snippet_mining_topk: int = 5
    #: ``"queue"`` (MoCo, the paper) or ``"batch"`` (in-batch negatives: no key-age shortcut)
    negatives: Literal["queue", "batch"] = "queue"
    snippet_negatives: Literal["queue", "batch"] = "queue"
    #: contrast both directions (query->key, key->query); twice the compute
    symmetric: bool = False


@dataclass
class PretrainEvalConfig:
    """A kNN probe of the query encoder after every ``run.eval_every`` epochs, on held-out labelled windows
    (labels never touch training): one centred window per sequence of ``query_split`` classified by its
    nearest windows of ``bank_split`` (cosine). ``best.pt`` keeps the epoch with the best ``val/knn_top1``:
    select on a validation split carved from the training styles, never on the test split."""

    enabled: bool = False
    #: prepared directory with one labelled action per sequence (``skelzoo data prepare bandai-clips``)
    root: str | None = None
    bank_split: str = "train"
    query_split: str = "val"
    frames: int = 96
    #: keep classes below this index (e.g. 10: the dataset-2 contents of ``bandai-clips``)
    max_label: int | None = None
    #: keep sequences whose ``meta`` has these values (e.g. ``{dataset: 2}``)
    where: dict[str, Any] = field(default_factory=dict)
    k: int = 20


def _pretrain_run() -> RunConfig:
    return RunConfig(output_dir="runs/pretrain", epochs=600, batch_size=128, seed=0)


def _pretrain_optim() -> OptimConfig:
    return OptimConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4, warmup_epochs=99,
                       warmup_offset=1, warmup_divisor=50, steps=(550,), gamma=0.1)


@dataclass
class PretrainConfig:
    """Everything of a pretraining run (sections ``run``, ``data``, ``model``, ``optim``, ``augment``)."""

    run: RunConfig = field(default_factory=_pretrain_run)
    data: PretrainDataConfig = field(default_factory=PretrainDataConfig)
    model: PretrainModelConfig = field(default_factory=PretrainModelConfig)
    optim: OptimConfig = field(default_factory=_pretrain_optim)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    eval: PretrainEvalConfig = field(default_factory=PretrainEvalConfig)


def build_pretrain_model(cfg: PretrainModelConfig, *, seed: int = 0) -> nn.Module:
    """:class:`~skelzoo.contrastive.SnipCLR` or :class:`~skelzoo.contrastive.SkeletonCLR` from ``cfg``."""
    from ..contrastive import SkeletonCLR, SnipCLR

    common = dict(backbone_args=cfg.backbone_args, feature_dim=cfg.feature_dim, queue_size=cfg.queue_size,
                  momentum=cfg.momentum, temperature=cfg.temperature, mlp=cfg.mlp,
                  relative_tempo=cfg.relative_tempo, mining_epoch=cfg.mining_epoch, mining_topk=cfg.mining_topk,
                  init=cfg.init, seed=seed, negatives=cfg.negatives, symmetric=cfg.symmetric)
    if cfg.method == "skeletonclr":
        return SkeletonCLR(cfg.backbone, **common)
    return SnipCLR(cfg.backbone, num_snippets=cfg.num_snippets, snippet_weight=cfg.snippet_weight,
                   snippet_match=cfg.snippet_match, snippet_key=cfg.snippet_key,
                   snippet_queue_size=cfg.snippet_queue_size, snippet_mining_topk=cfg.snippet_mining_topk,
                   snippet_negatives=cfg.snippet_negatives, **common)


def make_views(x: torch.Tensor, aug: AugmentConfig, *, relative_tempo: bool, view_frames: int,
               generator: torch.Generator, layout: str = "ntu25") -> dict[str, torch.Tensor]:
    """``{"query", "key"[, "key_tempo"]}`` views of a batch ``(N, C, T, V, M)`` (module docstring)."""
    lengths = valid_lengths(x)
    q = augment_view(x, aug, strong=True, layout=layout, lengths=lengths, generator=generator)
    k = augment_view(x, aug, strong=aug.strong_keys, layout=layout, lengths=lengths, generator=generator)
    if not relative_tempo:
        return {"query": q, "key": k}
    n = x.shape[0]
    gdev = generator.device
    perm = torch.randperm(n, generator=generator, device=gdev).to(x.device)
    tempo = torch.ones(n, dtype=torch.long, device=x.device)
    tempo[perm[n // 2:]] = 2
    return {"query": tempo_resample(q, tempo, view_frames), "key": tempo_resample(k, tempo, view_frames),
            "key_tempo": tempo_resample(k, 3 - tempo, view_frames)}


#: preprocessing codes of 2-D keypoint data (channels x, y, score)
KEYPOINT_2D_PREPROCESS = ("coco2d",)


def _dataset(cfg: PretrainConfig) -> Any:
    from ..data.datasets import ClipDataset

    root = cfg.data.root
    if cfg.data.kind == "synthetic":
        from ._data import synthetic_prepared
        root = str(synthetic_prepared(Path(cfg.run.output_dir) / "data", seconds=cfg.data.synthetic_seconds,
                                      splits={cfg.data.split: cfg.data.synthetic_sequences},
                                      seed=cfg.data.synthetic_seed, rank=dist_info()[0]))
    if not root:
        raise ValueError("data.root must name a prepared directory (skelzoo data prepare ...) "
                         "or set data.kind: synthetic")
    roots = [root] if isinstance(root, str) else list(root)
    transform = body_size_transform if cfg.data.body_size else None
    parts = [ClipDataset(r, cfg.data.split, clip_len=cfg.data.clip_frames, mode="crop", seed=cfg.run.seed,
                         num_persons=cfg.data.num_persons, transform=transform) for r in roots]
    if len(parts) == 1:
        return parts[0]
    from ..data.datasets import ConcatClips
    return ConcatClips(parts)


def _step_fn(cfg: PretrainConfig, layout: str) -> Any:
    def step(model: nn.Module, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        x = (batch[0] if isinstance(batch, (list, tuple)) else batch).to(ctx.device, non_blocking=True)
        with torch.autocast(device_type=ctx.device.type, enabled=False):  # views in float32 under AMP
            views = make_views(x.float(), cfg.augment, relative_tempo=cfg.model.relative_tempo,
                               view_frames=cfg.data.view_frames, generator=ctx.generator, layout=layout)
        return model(views["query"], views["key"], views.get("key_tempo"), epoch=ctx.epoch)
    return step


def _knn_eval(cfg: PretrainEvalConfig, body_size: bool = False) -> Any:
    """``eval_fn`` of the trainer: kNN top-1 (k=1 and k=``cfg.k``) of the query encoder's pooled features."""
    if not cfg.root:
        raise ValueError("eval.root must name a prepared directory with labelled clips (skelzoo data prepare "
                         "bandai-clips --val-styles default)")
    from ..evaluation.probe import center_windows, knn_probe, pooled_features

    cache: dict[str, Any] = {}

    def fn(model: nn.Module, ctx: StepContext) -> dict[str, float]:
        if not cache:
            where = dict(cfg.where) or None
            tf = body_size_transform if body_size else None
            cache["bank"] = center_windows(cfg.root, cfg.bank_split, cfg.frames, max_label=cfg.max_label,
                                           where=where, transform=tf)
            cache["query"] = center_windows(cfg.root, cfg.query_split, cfg.frames, max_label=cfg.max_label,
                                            where=where, transform=tf)
        backbone = getattr(model, "module", model).backbone
        fb = pooled_features(backbone, cache["bank"][0])
        fq = pooled_features(backbone, cache["query"][0])
        r1 = knn_probe(fb, cache["bank"][1], fq, cache["query"][1], k=1)
        rk = knn_probe(fb, cache["bank"][1], fq, cache["query"][1], k=cfg.k)
        return {"knn_top1": r1.accuracy, f"knn{cfg.k}_top1": rk.accuracy,
                "knn_balanced": r1.balanced_accuracy}
    return fn


def pretrain(cfg: PretrainConfig, *, resume: bool | str = False) -> dict[str, Any]:
    """Run (or resume) a pretraining; returns a JSON-able summary.

    Args:
        cfg: the config.
        resume: ``True`` continues from ``<output_dir>/last.pt`` when it exists; a path names a checkpoint.
    """
    _, created = init_distributed(cfg.run.device, cfg.run.ddp_backend)
    try:
        return _pretrain(cfg, resume)
    finally:
        if created and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _pretrain(cfg: PretrainConfig, resume: bool | str) -> dict[str, Any]:
    seed_everything(cfg.run.seed)
    dataset = _dataset(cfg)
    prepared = getattr(dataset, "prepared", None)
    if cfg.augment.coord_channels is None and prepared is not None and prepared.preprocess in KEYPOINT_2D_PREPROCESS:
        # x, y, score: the geometric augmentations must not mix the score into the coordinates
        cfg.augment = dataclasses.replace(cfg.augment, coord_channels=2)
    model = build_pretrain_model(cfg.model, seed=cfg.run.seed)
    layout = getattr(model.backbone, "layout", "ntu25")
    eval_fn = _knn_eval(cfg.eval, cfg.data.body_size) if cfg.eval.enabled else None
    trainer = Trainer(model, cfg.run, cfg.optim, dataset, _step_fn(cfg, layout), config=cfg, eval_fn=eval_fn,
                      select_metric="knn_top1" if eval_fn is not None else None)
    resumed = False
    if resume:
        resumed = trainer.resume(None if resume is True else resume)
    history = trainer.fit()
    out = Path(cfg.run.output_dir)
    summary: dict[str, Any] = {"stage": "pretrain", "output_dir": str(out), "epochs_done": trainer.start_epoch,
                               "resumed": resumed, "method": cfg.model.method, "backbone": cfg.model.backbone,
                               "num_sequences": len(dataset)}
    if trainer.is_main:
        from ..models import save_pretrained
        enc = out / "encoder"
        prepared = getattr(dataset, "prepared", None)
        model.backbone.preprocess = preprocess_code(prepared.preprocess if prepared is not None else "",
                                                    cfg.data.body_size)
        if prepared is not None:
            model.backbone.skelzoo_config["fps"] = prepared.fps
        save_pretrained(model.backbone, enc, extra_card=(
            f"Encoder pretrained with {cfg.model.method} (skelzoo) for {trainer.start_epoch} epochs on "
            f"{cfg.data.kind} data `{cfg.data.root or 'synthetic'}` split `{cfg.data.split}`."))
        summary["encoder"] = str(enc)
        best = out / "best.pt"
        if eval_fn is not None and best.is_file():  # the epoch selected by the validation kNN probe
            state = load_checkpoint(best)
            sel = copy.deepcopy(model)
            sel.load_state_dict(state["model"])
            sel.backbone.preprocess = model.backbone.preprocess
            sel.backbone.skelzoo_config = dict(model.backbone.skelzoo_config)
            save_pretrained(sel.backbone, out / "encoder_best", extra_card=(
                f"Encoder pretrained with {cfg.model.method} (skelzoo): epoch {int(state['epoch'])} of "
                f"{trainer.start_epoch}, selected by the validation kNN probe ({cfg.eval.query_split!r} split "
                f"of `{cfg.eval.root}`: top-1 {float(state['best']):.4f})."))
            summary["encoder_best"] = str(out / "encoder_best")
            summary["best_epoch"] = int(state["epoch"])
        if history:
            first, last = history[0], history[-1]
            summary["loss_first_epoch"] = first.get("train/loss")
            summary["loss_last_epoch"] = last.get("train/loss")
            summary["samples_per_s"] = last.get("samples_per_s")
            summary["history"] = [{k: v for k, v in h.items() if k.startswith(("epoch", "train/", "lr", "samples"))}
                                  for h in history]
    summary["config"] = config_to_dict(cfg)
    return summary
