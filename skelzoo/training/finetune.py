"""Localization finetuning entry point: protocols, frame cross-entropy, per-epoch segment mAP, export.

Protocols (docs/method.md §9, ``protocol``):

``"linear"``
    The encoder (``model.backbone``) is frozen and kept in eval mode (BN statistics frozen); the neck and the
    frame head are trained. ``head_only: true`` also freezes the neck (only the frame head ``fc_loc`` trains).
``"finetune"``
    Everything trains, the encoder starting from ``model.pretrained``.
``"semi"``
    Like ``finetune`` on a seeded fraction of the labelled training sequences: ``max(1, int(f·N))`` sequences
    chosen with ``random.Random(label_seed).sample`` (``label_fraction = 0.2``, ``label_seed = 4``).
Transfer (pretrain on one dataset, finetune on another) is ``finetune``/``linear``/``semi`` with
``model.pretrained`` pointing at an encoder pretrained elsewhere.

Loss: frame-wise softmax cross-entropy over ``num_classes + 1`` outputs (background last), averaged over the
valid frames of the batch (padded and unlabelled frames, label ``-100``, are ignored: clean reading of §11.2).
Optimizer: Adam, LR 1e-4 (U-fusion; 1e-3 for the simple head), weight decay 1e-4, linear warm-up
``lr·(e+1)/10`` for ``e < 10``, ×0.1 at epochs 30 and 35, 40 epochs, batch 8 (§5).

Evaluation after every epoch on ``data.eval_split``: frame softmax -> official multi-threshold proposals
(:func:`skelzoo.localization.decode.cas_proposals_batch`) -> segment mAP at tIoU 0.1-0.5 and their average
under the ``clean`` protocol (default, used to pick ``best``) and the official ``line`` protocol, plus frame
accuracy, edit and F1@{10,25,50} of the argmax labels. The paper picks the best epoch on the test split
(§11.9, optimistic); both the **last** and the best model are exported.

Outputs (``run.output_dir``): ``config.json``, ``log.jsonl``, ``curves.png``, ``last.pt`` / ``best.pt``,
``model/`` (last epoch) and ``best_model/`` as skelzoo folders (``save_pretrained``), loadable with
``skelzoo.load_model("local-dir:<output_dir>/model")``.
"""
from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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

__all__ = ["FinetuneConfig", "FinetuneDataConfig", "FinetuneModelConfig", "EvalConfig", "finetune",
           "build_finetune_model", "load_pretrained_encoder", "evaluate_localizer", "frame_loss", "collect_frames",
           "segment_map_results", "localization_metrics", "frame_recall"]

log = logging.getLogger(__name__)


@dataclass
class FinetuneDataConfig:
    """Prepared untrimmed benchmark with per-frame labels."""

    kind: Literal["prepared", "synthetic"] = "prepared"
    root: str | None = None
    train_split: str = "train"
    eval_split: str = "test"
    #: training sequences longer than this are cropped to a random window (None = whole sequences)
    max_frames: int | None = 1000
    #: evaluation sequences longer than this are cut (None = whole sequences)
    eval_max_frames: int | None = None
    num_persons: int | None = 1
    #: pad batches to a multiple of this many frames
    pad_multiple: int = 1
    #: scale every sequence to a common torso length (``normalise_body_size``); the exported localizer then
    #: records the preprocessing ``"ntu_bodysize"``
    body_size: bool = False
    #: after training, evaluate the last and the best model ONCE on this split (e.g. ``test`` when
    #: ``eval_split`` is a validation split used for selection); None = no final evaluation
    final_split: str | None = None
    synthetic_train: int = 32
    synthetic_eval: int = 8
    synthetic_seconds: float = 12.0
    synthetic_seed: int = 0


@dataclass
class FinetuneModelConfig:
    """The localizer and where its encoder comes from."""

    arch: str = "agcn_loc_ufusion"
    #: builder arguments (``num_classes`` / ``class_names`` default to the dataset's)
    model_args: dict[str, Any] = field(default_factory=dict)
    #: pretrained encoder: a pretraining output folder (uses its ``encoder/``), a skelzoo folder,
    #: ``local-dir:...``, ``hf-hub:...``, ``arch.tag``, or a ``.pt`` checkpoint (pretraining ``last.pt``)
    pretrained: str | None = None


@dataclass
class EvalConfig:
    """Per-epoch evaluation."""

    enabled: bool = True
    protocols: tuple[str, ...] = ("clean", "line")
    tiou_thresholds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)
    #: metric that selects ``best`` (maximised)
    select: str = "map_clean_avg"
    #: parameters of the official proposal decoder (thresholds, min_length, margin_ratio, outer_weight, nms_threshold)
    decode: dict[str, Any] = field(default_factory=dict)


def _finetune_run() -> RunConfig:
    return RunConfig(output_dir="runs/finetune", epochs=40, batch_size=8, eval_batch_size=1, seed=5)


def _finetune_optim() -> OptimConfig:
    return OptimConfig(name="adam", lr=1e-4, weight_decay=1e-4, warmup_epochs=10, steps=(30, 35), gamma=0.1)


@dataclass
class FinetuneConfig:
    """Everything of a finetuning run (sections ``run``, ``data``, ``model``, ``optim``, ``eval`` + protocol)."""

    protocol: Literal["linear", "finetune", "semi"] = "finetune"
    #: linear protocol: train only the frame head (the neck is frozen too)
    head_only: bool = False
    label_fraction: float = 0.2
    label_seed: int = 4
    run: RunConfig = field(default_factory=_finetune_run)
    data: FinetuneDataConfig = field(default_factory=FinetuneDataConfig)
    model: FinetuneModelConfig = field(default_factory=FinetuneModelConfig)
    optim: OptimConfig = field(default_factory=_finetune_optim)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ---------------------------------------------------------------------------------------------- model
def _encoder_state(source: str) -> dict[str, torch.Tensor]:
    """State dict of a pretrained encoder (backbone keys, no prefix)."""
    from ..models import load_model

    path = Path(source[len("local-dir:"):] if source.startswith("local-dir:") else source).expanduser()
    if path.is_dir() and (path / "encoder" / "config.json").is_file():
        path = path / "encoder"
    if path.is_file() and path.suffix in (".pt", ".pth"):
        ck = load_checkpoint(path)
        sd = ck.get("model", ck) if isinstance(ck, dict) else ck
        for prefix in ("encoder_q.backbone.", "backbone.", ""):
            sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)} if prefix else dict(sd)
            if sub:
                return sub
        raise ValueError(f"{path}: no encoder weights found")
    if path.is_dir():
        model = load_model("local-dir:" + str(path))
    elif source.startswith(("hf-hub:", "local-dir:")) or "/" not in source:
        model = load_model(source, pretrained=not source.startswith(("hf-hub:", "local-dir:")))
    else:
        raise FileNotFoundError(f"pretrained encoder {source!r}: no such folder or checkpoint")
    enc = getattr(model, "backbone", model)
    return {k: v for k, v in enc.state_dict().items() if not k.startswith("head.")}


def load_pretrained_encoder(model: nn.Module, source: str) -> list[str]:
    """Load an encoder into ``model.backbone`` (strict for the backbone; its classifier keys are skipped).

    Returns the backbone keys that were loaded.
    """
    state = _encoder_state(source)
    target = model.backbone
    own = target.state_dict()
    state = {k: v for k, v in state.items() if not k.startswith("head.")}
    missing = sorted(k for k in own if k not in state and not k.startswith("head."))
    unexpected = sorted(k for k in state if k not in own)
    bad = sorted(k for k in state if k in own and tuple(state[k].shape) != tuple(own[k].shape))
    if missing or unexpected or bad:
        raise ValueError(f"pretrained encoder {source!r} does not fit {type(target).__name__}: "
                         f"missing {missing[:5]}, unexpected {unexpected[:5]}, shape mismatch {bad[:5]} "
                         f"(same backbone architecture and arguments are needed)")
    own.update(state)
    target.load_state_dict(own, strict=True)
    return sorted(state)


def build_finetune_model(cfg: FinetuneConfig, *, num_classes: int, class_names: list[str] | None) -> nn.Module:
    """The localizer of ``cfg.model`` with the pretrained encoder loaded and the protocol's freezing applied."""
    from ..models import build_model

    args = dict(cfg.model.model_args)
    args.setdefault("num_classes", num_classes)
    if class_names and "class_names" not in args and args["num_classes"] == len(class_names):
        args["class_names"] = list(class_names)
    model = build_model(cfg.model.arch, **args)
    if not hasattr(model, "backbone") or not hasattr(model, "head"):
        raise ValueError(f"{cfg.model.arch!r} is not a localizer (pick e.g. agcn_loc_ufusion or stgcn_ssl_simple)")
    if int(model.num_classes) != num_classes:
        raise ValueError(f"model has {model.num_classes} classes, the dataset {num_classes}")
    if cfg.model.pretrained:
        keys = load_pretrained_encoder(model, cfg.model.pretrained)
        log.info("loaded %d encoder tensors from %s", len(keys), cfg.model.pretrained)
    if cfg.protocol == "linear":
        for p in model.backbone.parameters():
            p.requires_grad_(False)
        if cfg.head_only:
            for name, p in model.named_parameters():
                if not name.startswith("head."):
                    p.requires_grad_(False)
    elif cfg.head_only:
        raise ValueError("head_only applies to protocol 'linear' only")
    return model


def _train_mode(protocol: str, head_only: bool) -> Any:
    def set_mode(model: nn.Module) -> None:
        model.train()
        if protocol == "linear":
            model.backbone.eval()
            if head_only and getattr(model, "neck", None) is not None:
                model.neck.eval()
    return set_mode


# ---------------------------------------------------------------------------------------------- loss / eval
def frame_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Cross-entropy of ``(N, T, K)`` logits vs ``(N, T)`` labels, mean over frames whose label is not ignored."""
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=ignore_index)


def _unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if isinstance(batch, dict):
        return batch["x"], batch["labels"], batch["lengths"]
    if hasattr(batch, "x"):
        return batch.x, batch.labels, batch.lengths
    x, labels = batch[0], batch[1]
    return x, labels, torch.full((x.shape[0],), x.shape[2], dtype=torch.long)


@torch.no_grad()
def collect_frames(model: nn.Module, loader: Any, *, device: torch.device, num_classes: int
                   ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """One pass of ``model`` over a loader of padded batches: per sequence the frame softmax ``(T, K+1)``, the
    ground truth ``(T,)`` (unlabelled frames as background ``num_classes``) and the argmax labels ``(T,)``."""
    from ..progress import progress

    model.eval()
    bg = num_classes
    cas, gts, preds = [], [], []
    for batch in progress(loader, desc="evaluating", unit="batch"):
        x, labels, lengths = _unpack(batch)
        logits = model(x.to(device)).float().cpu()
        probs = torch.softmax(logits, dim=-1).numpy()
        for b in range(x.shape[0]):
            n = int(lengths[b])
            lab = labels[b, :n].numpy().astype(np.int64)
            cas.append(probs[b, :n])
            gts.append(np.where(lab < 0, bg, lab))
            preds.append(probs[b, :n].argmax(-1))
    return cas, gts, preds


def segment_map_results(cas: list[np.ndarray], gts: list[np.ndarray], num_classes: int, *,
                        protocols: tuple[str, ...] = ("clean", "line"),
                        tiou_thresholds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5),
                        decode: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{protocol: SegmentMAPResult}`` of the official proposals decoded from ``cas`` (a protocol whose mAP
    cannot be computed, e.g. without any GT segment, is left out with a warning)."""
    from ..evaluation import segment_map
    from ..localization.decode import cas_proposals_batch

    proposals = cas_proposals_batch(cas, columns=range(num_classes), **(decode or {}))
    out: dict[str, Any] = {}
    for proto in protocols:
        try:
            out[proto] = segment_map(proposals, gts, background=num_classes, tiou_thresholds=tiou_thresholds,
                                     protocol=proto)
        except ValueError as e:  # e.g. no GT segment at all
            log.warning("segment mAP (%s) not computed: %s", proto, e)
    return out


def localization_metrics(results: dict[str, Any], gts: list[np.ndarray], preds: list[np.ndarray],
                         num_classes: int) -> dict[str, float]:
    """The metrics of :func:`evaluate_localizer` from :func:`segment_map_results` and the frame labels."""
    from ..evaluation import segmentation_scores

    out: dict[str, float] = {}
    for proto, res in results.items():
        for t, v in zip(res.tiou_thresholds, res.map):
            out[f"map_{proto}@{t:g}"] = float(v)
        out[f"map_{proto}_avg"] = float(res.average)
    out.update({k: float(v) for k, v in segmentation_scores(preds, gts, background=num_classes).items()})
    out.update(frame_recall(preds, gts, num_classes))
    out["num_sequences"] = float(len(gts))
    return out


def evaluate_localizer(model: nn.Module, loader: Any, *, device: torch.device, num_classes: int,
                       protocols: tuple[str, ...] = ("clean", "line"),
                       tiou_thresholds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5),
                       decode: dict[str, Any] | None = None) -> dict[str, float]:
    """Segment mAP (per protocol, per threshold and average) and segmentation scores on a loader of
    padded batches. Metric names: ``map_<protocol>@<tiou>``, ``map_<protocol>_avg``, ``accuracy``, ``edit``,
    ``F1@10`` / ``F1@25`` / ``F1@50``, and :func:`frame_recall`'s ``accuracy_foreground``, ``accuracy_background``,
    ``recall_<c>``. Unlabelled GT frames count as background for the segments."""
    cas, gts, preds = collect_frames(model, loader, device=device, num_classes=num_classes)
    results = segment_map_results(cas, gts, num_classes, protocols=protocols, tiou_thresholds=tiou_thresholds,
                                  decode=decode)
    return localization_metrics(results, gts, preds, num_classes)


def frame_recall(preds: list[np.ndarray], gts: list[np.ndarray], num_classes: int) -> dict[str, float]:
    """Frame scores that background-dominated frame accuracy hides (x 100): ``accuracy_foreground`` (accuracy on
    the frames whose true label is an action), ``accuracy_background`` and ``recall_<c>`` per action class ``c``
    present in the ground truth (share of its frames predicted as ``c``)."""
    p = np.concatenate([np.asarray(a).reshape(-1) for a in preds]) if preds else np.zeros(0, np.int64)
    g = np.concatenate([np.asarray(a).reshape(-1) for a in gts]) if gts else np.zeros(0, np.int64)
    out: dict[str, float] = {}
    fg = g != num_classes
    if fg.any():
        out["accuracy_foreground"] = float(100.0 * (p[fg] == g[fg]).mean())
    if (~fg).any():
        out["accuracy_background"] = float(100.0 * (p[~fg] == num_classes).mean())
    for c in range(num_classes):
        sel = g == c
        if sel.any():
            out[f"recall_{c}"] = float(100.0 * (p[sel] == c).mean())
    return out


# ---------------------------------------------------------------------------------------------- entry
def _datasets(cfg: FinetuneConfig) -> tuple[Any, Any, str]:
    from ..data.datasets import UntrimmedDataset

    root = cfg.data.root
    if cfg.data.kind == "synthetic":
        from ._data import synthetic_prepared
        root = str(synthetic_prepared(Path(cfg.run.output_dir) / "data", seconds=cfg.data.synthetic_seconds,
                                      splits={cfg.data.train_split: cfg.data.synthetic_train,
                                              cfg.data.eval_split: cfg.data.synthetic_eval},
                                      seed=cfg.data.synthetic_seed, rank=dist_info()[0]))
    if not root:
        raise ValueError("data.root must name a prepared directory (skelzoo data prepare ...) "
                         "or set data.kind: synthetic")
    from ..data.transforms import body_size_transform
    tf = body_size_transform if cfg.data.body_size else None
    train = UntrimmedDataset(root, cfg.data.train_split, max_len=cfg.data.max_frames, random_crop=True,
                             seed=cfg.run.seed, num_persons=cfg.data.num_persons, transform=tf)
    test = UntrimmedDataset(root, cfg.data.eval_split, max_len=cfg.data.eval_max_frames, random_crop=False,
                            seed=cfg.run.seed, num_persons=cfg.data.num_persons, transform=tf)
    return train, test, root


def finetune(cfg: FinetuneConfig, *, resume: bool | str = False) -> dict[str, Any]:
    """Run (or resume) a finetuning; returns a JSON-able summary (last and best metrics, output folders)."""
    _, created = init_distributed(cfg.run.device, cfg.run.ddp_backend)
    try:
        return _finetune(cfg, resume)
    finally:
        if created and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _finetune(cfg: FinetuneConfig, resume: bool | str) -> dict[str, Any]:
    from ..data.collate import collate_untrimmed
    from ..models import save_pretrained
    from ._data import LabelledSubset, semi_indices

    if cfg.protocol not in ("linear", "finetune", "semi"):
        raise ValueError(f"protocol must be 'linear', 'finetune' or 'semi', got {cfg.protocol!r}")
    seed_everything(cfg.run.seed)
    train, test, root = _datasets(cfg)
    names = list(train.class_names)
    num_classes = len(names)
    bg = train.background_index
    if bg is not None and bg != num_classes:
        raise ValueError(f"{root}: background index {bg} must be the last class ({num_classes})")
    train_set: Any = train
    if cfg.protocol == "semi":
        train_set = LabelledSubset(train, semi_indices(len(train), cfg.label_fraction, cfg.label_seed))
    model = build_finetune_model(cfg, num_classes=num_classes, class_names=names)
    collate = partial(collate_untrimmed, pad_multiple=cfg.data.pad_multiple)

    def step(m: nn.Module, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        x, labels, _ = _unpack(batch)
        logits = m(x.to(ctx.device, non_blocking=True))
        loss = frame_loss(logits, labels.to(ctx.device))
        return {"loss": loss}

    eval_fn = None

    def evaluate_on(m: nn.Module, dataset: Any, device: torch.device) -> dict[str, float]:
        from torch.utils.data import DataLoader
        loader = DataLoader(dataset, batch_size=cfg.run.eval_batch_size, shuffle=False, collate_fn=collate)
        return evaluate_localizer(m, loader, device=device, num_classes=num_classes,
                                  protocols=tuple(cfg.eval.protocols), tiou_thresholds=tuple(cfg.eval.tiou_thresholds),
                                  decode=cfg.eval.decode)

    if cfg.eval.enabled:
        def eval_fn(m: nn.Module, ctx: StepContext) -> dict[str, float]:
            return evaluate_on(m, test, ctx.device)

    trainer = Trainer(model, cfg.run, cfg.optim, train_set, step, collate_fn=collate, eval_fn=eval_fn,
                      select_metric=cfg.eval.select if eval_fn is not None else None, config=cfg,
                      set_train_mode=_train_mode(cfg.protocol, cfg.head_only))
    resumed = False
    if resume:
        resumed = trainer.resume(None if resume is True else resume)
    history = trainer.fit()
    out = Path(cfg.run.output_dir)
    summary: dict[str, Any] = {
        "stage": "finetune", "protocol": cfg.protocol, "output_dir": str(out), "epochs_done": trainer.start_epoch,
        "resumed": resumed, "arch": cfg.model.arch, "pretrained": cfg.model.pretrained,
        "num_train_sequences": len(train_set), "num_eval_sequences": len(test), "class_names": names,
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    if trainer.is_main and history:
        last = {k[len("eval/"):]: v for k, v in history[-1].items() if k.startswith("eval/")}
        summary["last"] = last
        summary["loss_first_epoch"] = history[0].get("train/loss")
        summary["loss_last_epoch"] = history[-1].get("train/loss")
        card = (f"Finetuned ({cfg.protocol}) with skelzoo for {trainer.start_epoch} epochs on `{root}` "
                f"(train split `{cfg.data.train_split}`, evaluated on `{cfg.data.eval_split}`).")
        model.eval()
        from ..data.transforms import preprocess_code
        # inference must normalise like the training data
        model.preprocess = preprocess_code(train.prepared.preprocess, cfg.data.body_size)
        model.skelzoo_config["fps"] = train.prepared.fps  # ... and run at the training frame rate
        save_pretrained(model, out / "model", metrics={k: v for k, v in last.items() if k.startswith(("map_", "F1"))},
                        extra_card=card + " Last epoch.")
        summary["model"] = str(out / "model")
        if (out / "best.pt").is_file():
            best_model = copy.deepcopy(model)
            best_model.load_state_dict(load_checkpoint(out / "best.pt")["model"])
            best_rec = max((h for h in history if cfg.eval.select in {k[len("eval/"):] for k in h}),
                           key=lambda h: h[f"eval/{cfg.eval.select}"], default=None)
            best = {k[len("eval/"):]: v for k, v in (best_rec or {}).items() if k.startswith("eval/")}
            best["epoch"] = (best_rec or {}).get("epoch")
            save_pretrained(best_model, out / "best_model",
                            metrics={k: v for k, v in best.items() if k.startswith(("map_", "F1"))},
                            extra_card=card + f" Best epoch on the evaluation split ({cfg.eval.select}; optimistic).")
            summary["best"] = best
            summary["best_model"] = str(out / "best_model")
        if cfg.data.final_split:
            from ..data.datasets import UntrimmedDataset
            final = UntrimmedDataset(root, cfg.data.final_split, max_len=cfg.data.eval_max_frames, random_crop=False,
                                     seed=cfg.run.seed, num_persons=cfg.data.num_persons, transform=test.transform)
            dev = next(model.parameters()).device
            summary["final"] = {"split": cfg.data.final_split, "last": evaluate_on(model, final, dev)}
            if (out / "best.pt").is_file():
                summary["final"]["best"] = evaluate_on(best_model, final, dev)
            (out / "final.json").write_text(json.dumps(summary["final"], indent=2, sort_keys=True) + "\n")
    summary["config"] = config_to_dict(cfg)
    return summary
