"""One training loop for pretraining and finetuning: configs, seeds, checkpoints, logging, DDP, AMP.

Configs are nested dataclasses loadable from YAML or JSON (:func:`load_config`), with ``--set a.b=value``
overrides (:func:`apply_overrides`); every hyper-parameter lives in them, and the resolved config is saved
beside the outputs as ``config.json``.

Determinism: the global RNGs are seeded from ``run.seed`` (+ rank); the data order comes from a
``DistributedSampler`` seeded with ``run.seed`` and the epoch (also with one process); datasets draw their
random crops from ``(seed, epoch, index)``; augmentations draw from a ``torch.Generator`` re-seeded from
``(seed, rank, epoch)`` at the start of every epoch. A checkpoint (``last.pt``) is written atomically at the
end of every epoch with the model, optimizer, scheduler and AMP-scaler states and every RNG state (as
tensors, so it loads with ``torch.load(weights_only=True)``); resuming continues at the next epoch and gives
the same result as an uninterrupted run with the same seed (bitwise on CPU).

Outputs of ``run.output_dir``: ``config.json``, ``log.jsonl`` (one record per epoch, plus every
``run.log_every`` steps), ``last.pt`` (+ ``best.pt`` when an evaluation metric is selected), ``curves.png``
(when matplotlib is installed).

Distributed: launch with ``torchrun --nproc_per_node=N``; the process group uses gloo on CPU and NCCL on
CUDA, the model is wrapped in ``DistributedDataParallel``, ``run.batch_size`` is per process, and only rank 0
logs, evaluates and writes files.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import os
import random
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

__all__ = [
    "RunConfig", "OptimConfig", "Trainer", "StepContext", "load_config", "config_from_dict", "config_to_dict",
    "apply_overrides", "lr_factor", "build_optimizer", "init_distributed", "dist_info", "atomic_save",
    "load_checkpoint", "rng_state", "set_rng_state", "seed_everything",
]

log = logging.getLogger(__name__)


# ============================================================================================ configs
@dataclass
class RunConfig:
    """Settings of the loop itself (shared by both stages)."""

    output_dir: str = "runs/skelzoo"
    epochs: int = 10
    #: per process (DDP: the global batch is ``batch_size × world size``)
    batch_size: int = 8
    eval_batch_size: int = 1
    drop_last: bool = True
    seed: int = 0
    #: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    device: str = "auto"
    #: automatic mixed precision (CUDA only; ignored on CPU)
    amp: bool = True
    amp_dtype: Literal["bfloat16", "float16"] = "bfloat16"
    #: ``torch.compile`` the model used for training steps
    compile: bool = False
    num_workers: int = 0
    #: ``torch.set_num_threads`` for this process (None = torch's default; 1 is fastest on busy CPUs)
    threads: int | None = None
    #: tqdm progress bars (rank 0)
    progress: bool = True
    #: also log a record every this many steps (0 = per epoch only)
    log_every: int = 0
    #: evaluate every n epochs (and always after the last epoch)
    eval_every: int = 1
    #: write ``curves.png`` after every epoch (needs matplotlib)
    plot: bool = True
    #: stop every epoch after this many steps (smoke tests; None = whole epoch)
    max_steps_per_epoch: int | None = None
    #: stop after this many epochs of this invocation (simulates an interruption; None = run to the end)
    stop_after_epochs: int | None = None
    #: gradient clipping by global norm (None = off)
    grad_clip: float | None = None
    #: ``torch.use_deterministic_algorithms`` (warn only)
    deterministic: bool = False
    #: DDP backend: ``"auto"`` = NCCL on CUDA, gloo on CPU
    ddp_backend: str = "auto"
    find_unused_parameters: bool = False


@dataclass
class OptimConfig:
    """Optimizer and per-epoch learning-rate schedule (:func:`lr_factor`)."""

    name: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    #: warm-up: factor ``(e + 1 + warmup_offset) / warmup_divisor`` for 0-based epochs ``e < warmup_epochs``
    warmup_epochs: int = 0
    warmup_offset: int = 0
    #: default: ``warmup_epochs``
    warmup_divisor: float | None = None
    #: after warm-up: factor ``gamma ** (number of steps s with e >= s)`` (0-based epochs)
    steps: tuple[int, ...] = ()
    gamma: float = 0.1


def lr_factor(epoch: int, cfg: OptimConfig) -> float:
    """LR multiplier at 0-based ``epoch``.

    Finetuning (docs/method.md §5): ``warmup_epochs=10`` -> ``(e+1)/10``, then ×0.1 at 30 and 35.
    SnipCLR pretraining (§3.5, epochs counted from 1 there): ``warmup_epochs=99, warmup_offset=1,
    warmup_divisor=50, steps=[550]`` -> ``0.1·(e₁+1)/50`` for ``e₁ < 100``, 0.1 up to 550, 0.01 after.
    """
    if epoch < cfg.warmup_epochs:
        div = cfg.warmup_divisor if cfg.warmup_divisor is not None else cfg.warmup_epochs
        return (epoch + 1 + cfg.warmup_offset) / float(div)
    return cfg.gamma ** sum(1 for s in cfg.steps if epoch >= s)


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """SGD / Adam / AdamW from ``cfg`` over the given (trainable) parameters."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("no trainable parameters")
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.name!r}; choose 'sgd', 'adam' or 'adamw'")


# ---------------------------------------------------------------------------------- config (de)serialisation
def _convert(tp: Any, value: Any, where: str) -> Any:
    """Validate / convert a JSON value to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {value!r}")
        return config_from_dict(tp, value, _where=where)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, where)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where}: expected one of {list(args)}, got {value!r}")
        return value
    if origin in (tuple, list, Sequence):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ValueError(f"{where}: expected {len(args)} values, got {value!r}")
            return tuple(_convert(a, v, where) for a, v in zip(args, value))
        inner = args[0] if args else Any
        out = [_convert(inner, v, where) for v in value]
        return tuple(out) if origin is tuple else out
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def config_from_dict(cls: type, data: Mapping[str, Any], *, _where: str = "") -> Any:
    """Build dataclass ``cls`` from a (nested) mapping; unknown keys raise ``ValueError`` with close matches."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        where = f"{_where}.{key}" if _where else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known keys: {', '.join(names)}"
            raise ValueError(f"unknown config key {where!r}{hint}")
        kwargs[key] = _convert(hints[key], value, where)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{_where or cls.__name__}: {e}") from None


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """JSON-able dict of a (nested) config dataclass (tuples become lists)."""
    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, Mapping):
            return {str(k): conv(x) for k, x in v.items()}
        return v
    return conv(cfg)


def _parse_value(text: str) -> Any:
    try:
        import yaml
        return yaml.safe_load(text)
    except ImportError:  # pragma: no cover - PyYAML missing
        try:
            return json.loads(text)
        except ValueError:
            return text


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML, e.g. ``[30, 35]``, ``null``, ``1e-3``)."""
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like section.key=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {p!r} is not a section")
        node[parts[-1]] = _parse_value(text)
    return data


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML (``.yaml``/``.yml``, needs PyYAML) or JSON config file as a dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError("YAML configs need PyYAML: pip install pyyaml (or use a .json config)") from None
        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config must be a mapping of sections")
    return data


def load_config(cls: type, path: str | os.PathLike | None = None, overrides: Sequence[str] = ()) -> Any:
    """Config dataclass ``cls`` from a YAML/JSON file (or defaults) plus ``key=value`` overrides."""
    data = read_config_file(path) if path is not None else {}
    return config_from_dict(cls, apply_overrides(data, overrides))


# ============================================================================================ RNG / files
def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, torch.Tensor]:
    """Every global RNG state as tensors (loadable with ``weights_only=True``)."""
    py = random.getstate()
    np_state = np.random.get_state()
    out = {
        "torch": torch.get_rng_state(),
        "python": torch.tensor(list(py[1]), dtype=torch.int64),
        "python_version": torch.tensor([py[0]], dtype=torch.int64),
        "numpy_keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_pos": torch.tensor([int(np_state[2]), int(np_state[3])], dtype=torch.int64),
        "numpy_gauss": torch.tensor([float(np_state[4])], dtype=torch.float64),
    }
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"cuda{i}"] = s
    return out


def set_rng_state(state: Mapping[str, torch.Tensor]) -> None:
    """Restore :func:`rng_state`."""
    torch.set_rng_state(state["torch"].cpu())
    random.setstate((int(state["python_version"][0]), tuple(int(v) for v in state["python"].tolist()), None))
    pos = state["numpy_pos"].tolist()
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), int(pos[0]), int(pos[1]),
                         float(state["numpy_gauss"][0])))
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            if f"cuda{i}" in state:
                torch.cuda.set_rng_state(state[f"cuda{i}"].cpu(), i)


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename (never a half-written file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a training checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: the file is truncated, not a torch checkpoint, not a dictionary, or needs code
            execution to unpickle (refused; nothing of it ran).
    """
    import pickle
    import struct

    from ..errors import CheckpointError

    try:
        ck = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = (str(exc).strip().splitlines() or [""])[0].split(" Please")[0].strip()
        raise CheckpointError(f"refusing to resume from {path}: it holds objects that need code execution to "
                              f"unpickle ({first[:200]}); skelzoo loads checkpoints with weights_only=True "
                              "only. Resume from a last.pt written by skelzoo.") from None
    except (RuntimeError, EOFError, OSError, ValueError, struct.error, MemoryError) as exc:
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"cannot resume from {path}: not a readable training checkpoint "
                              f"(truncated or corrupt: {msg[:200]})") from None
    if not isinstance(ck, dict):
        raise CheckpointError(f"cannot resume from {path}: it holds a {type(ck).__name__}, not a training "
                              "checkpoint dictionary")
    return ck


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


# ============================================================================================ distributed
def dist_info() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` of this process (``(0, 1, 0)`` when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    return 0, 1, 0


def init_distributed(device: str = "auto", backend: str = "auto") -> tuple[torch.device, bool]:
    """Join the process group when launched by torchrun (``WORLD_SIZE > 1``); returns ``(device, created)``.

    ``created`` tells whether this call initialised the group (then the trainer destroys it at the end).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local if world > 1 else torch.cuda.current_device())
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    created = False
    if world > 1 and dist.is_available() and not dist.is_initialized():
        be = backend if backend != "auto" else ("nccl" if dev.type == "cuda" else "gloo")
        dist.init_process_group(backend=be)
        created = True
    return dev, created


# ============================================================================================ trainer
@dataclass
class StepContext:
    """What a step / eval function may use: the current epoch (from 1), device, augmentation generator, AMP."""

    epoch: int
    step: int
    device: torch.device
    generator: torch.Generator
    rank: int = 0
    world_size: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


StepFn = Callable[[nn.Module, Any, StepContext], Mapping[str, torch.Tensor]]
EvalFn = Callable[[nn.Module, StepContext], Mapping[str, float]]


class Trainer:
    """Epoch loop around a step function.

    Args:
        model: the module to train (its ``state_dict`` is what checkpoints hold).
        run: :class:`RunConfig`.
        optim: :class:`OptimConfig` (the optimizer sees only ``requires_grad`` parameters).
        train_set: a map-style dataset (``set_epoch(e)`` is called when it has one).
        step_fn: ``step_fn(model_or_ddp, batch, ctx) -> {"loss": tensor, ...}``; the trainer does the
            backward pass, clipping, optimizer step and logging of every returned value (``loss*`` / ``acc*``
            scalars are averaged over the epoch).
        collate_fn: DataLoader collate function.
        eval_fn: ``eval_fn(model, ctx) -> {metric: float}`` run by rank 0 after every epoch.
        select_metric: metric (of ``eval_fn``) whose maximum selects ``best.pt``; None = no best checkpoint.
        config: the full config (dataclass or dict) written to ``config.json`` and into checkpoints.
        set_train_mode: ``f(model)`` called instead of ``model.train()`` (e.g. to keep a frozen encoder in eval).
        on_epoch_end: ``f(trainer, epoch, record)`` after the checkpoint (rank 0; e.g. exporting a model).
        params: parameters to optimise (default ``model.parameters()``).
    """

    def __init__(self, model: nn.Module, run: RunConfig, optim: OptimConfig, train_set: Dataset,
                 step_fn: StepFn, *, collate_fn: Callable[[list[Any]], Any] | None = None,
                 eval_fn: EvalFn | None = None, select_metric: str | None = None, config: Any = None,
                 set_train_mode: Callable[[nn.Module], None] | None = None,
                 on_epoch_end: Callable[["Trainer", int, dict[str, Any]], None] | None = None,
                 params: Iterable[torch.nn.Parameter] | None = None) -> None:
        self.run = run
        self.optim_cfg = optim
        self.device, self._created_group = init_distributed(run.device, run.ddp_backend)
        self.rank, self.world_size, _ = dist_info()
        self.is_main = self.rank == 0
        seed_everything(run.seed + self.rank)
        if run.threads:
            torch.set_num_threads(int(run.threads))
        if run.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.model = model.to(self.device)
        self.train_set = train_set
        self.collate_fn = collate_fn
        self.step_fn = step_fn
        self.eval_fn = eval_fn
        self.select_metric = select_metric
        self.set_train_mode = set_train_mode
        self.on_epoch_end = on_epoch_end
        self.config_dict = config_to_dict(config) if dataclasses.is_dataclass(config) else dict(config or {})
        self.output_dir = Path(run.output_dir)
        self.optimizer = build_optimizer(params if params is not None else self.model.parameters(), optim)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda e: lr_factor(e, optim))
        self.use_amp = bool(run.amp) and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if run.amp_dtype == "bfloat16" else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.generator = torch.Generator()
        self.start_epoch = 0  # epochs completed
        self.best: float | None = None
        self.history: list[dict[str, Any]] = []
        self.global_step = 0
        fwd: nn.Module = self.model
        if self.world_size > 1:
            fwd = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                broadcast_buffers=False, find_unused_parameters=run.find_unused_parameters)
        if run.compile:
            fwd = torch.compile(fwd)  # type: ignore[assignment]
        self.forward_model = fwd
        self.sampler = DistributedSampler(train_set, num_replicas=self.world_size, rank=self.rank, shuffle=True,
                                          seed=run.seed, drop_last=False)

    # ------------------------------------------------------------------------------------------ helpers
    def _loader(self, epoch: int) -> DataLoader:
        self.sampler.set_epoch(epoch)
        if hasattr(self.train_set, "set_epoch"):
            self.train_set.set_epoch(epoch)  # type: ignore[attr-defined]
        g = torch.Generator().manual_seed(self.run.seed * 100003 + epoch)
        return DataLoader(self.train_set, batch_size=self.run.batch_size, sampler=self.sampler,
                          num_workers=self.run.num_workers, collate_fn=self.collate_fn, drop_last=self.run.drop_last,
                          generator=g, pin_memory=self.device.type == "cuda")

    def _ctx(self, epoch: int) -> StepContext:
        return StepContext(epoch=epoch + 1, step=self.global_step, device=self.device, generator=self.generator,
                           rank=self.rank, world_size=self.world_size)

    def autocast(self) -> Any:
        """The AMP context of training steps (a no-op on CPU)."""
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.use_amp)

    # ------------------------------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.start_epoch,
            "global_step": self.global_step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
            "generator": self.generator.get_state(),
            "best": torch.tensor(float("nan") if self.best is None else self.best, dtype=torch.float64),
            "history": json.dumps(self.history),
            "config": json.dumps(self.config_dict, sort_keys=True),
        }

    def resume(self, path: str | os.PathLike | None = None) -> bool:
        """Load ``path`` (default ``output_dir/last.pt``); returns False when there is no checkpoint."""
        path = Path(path) if path is not None else self.output_dir / "last.pt"
        if not path.is_file():
            return False
        ck = load_checkpoint(path, map_location="cpu")
        from ..errors import CheckpointError
        try:
            self.model.load_state_dict(ck["model"])
            self.optimizer.load_state_dict(ck["optimizer"])
            self.scheduler.load_state_dict(ck["scheduler"])
            if ck.get("scaler"):
                self.scaler.load_state_dict(ck["scaler"])
            set_rng_state(ck["rng"])
            self.generator.set_state(ck["generator"])
            self.start_epoch = int(ck["epoch"])
            self.global_step = int(ck["global_step"])
            best = float(ck["best"])
            self.history = json.loads(ck["history"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, RecursionError) as exc:
            msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(f"cannot resume from {path}: it is not a checkpoint of this training run "
                                  f"({type(exc).__name__}: {msg[:200]})") from None
        self.best = None if math.isnan(best) else best
        if self.is_main:
            self._truncate_log()
            log.info("resumed from %s at epoch %d", path, self.start_epoch)
        return True

    def _truncate_log(self) -> None:
        """Drop ``log.jsonl`` records written after the checkpoint (the epochs that will be replayed), so a
        resumed run's log has each step and epoch once."""
        path = self.output_dir / "log.jsonl"
        if not path.is_file():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                epoch = json.loads(line).get("epoch")
            except (ValueError, AttributeError, RecursionError):
                continue  # a line cut by the kill
            if isinstance(epoch, int) and epoch <= self.start_epoch:
                kept.append(line)
        _atomic_write_text(path, "".join(k + "\n" for k in kept))

    def _write_outputs(self, record: dict[str, Any], improved: bool) -> None:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        state = self.state_dict()
        atomic_save(state, self.output_dir / "last.pt")
        if improved:
            atomic_save(state, self.output_dir / "best.pt")
        with open(self.output_dir / "log.jsonl", "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        if self.run.plot:
            plot_curves(self.history, self.output_dir / "curves.png")

    # ------------------------------------------------------------------------------------------ loop
    def fit(self) -> list[dict[str, Any]]:
        """Train from ``start_epoch`` to ``run.epochs`` (or ``stop_after_epochs`` of them); returns the
        per-epoch records (all of them, including those before a resume)."""
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            _atomic_write_text(self.output_dir / "config.json",
                               json.dumps(self.config_dict, indent=2, sort_keys=True) + "\n")
        end = self.run.epochs
        if self.run.stop_after_epochs is not None:
            end = min(end, self.start_epoch + self.run.stop_after_epochs)
        try:
            for epoch in range(self.start_epoch, end):
                record = self._train_epoch(epoch)
                improved = False
                due = (epoch + 1) % max(1, self.run.eval_every) == 0 or epoch + 1 == self.run.epochs
                if self.eval_fn is not None and self.is_main and due:
                    self.model.eval()
                    with torch.no_grad():
                        metrics = dict(self.eval_fn(self.model, self._ctx(epoch)))
                    record.update({f"eval/{k}": v for k, v in metrics.items()})
                    if self.select_metric is not None:
                        if self.select_metric not in metrics:
                            raise KeyError(f"select_metric {self.select_metric!r} is not among the evaluation "
                                           f"metrics {sorted(metrics)}")
                        value = float(metrics[self.select_metric])
                        if self.best is None or value > self.best:
                            self.best, improved = value, True
                        record["best"] = self.best
                self.start_epoch = epoch + 1
                self.history.append(record)
                if self.is_main:
                    self._write_outputs(record, improved)
                    if self.on_epoch_end is not None:
                        self.on_epoch_end(self, epoch + 1, record)
                if self.world_size > 1:
                    dist.barrier()
        finally:
            if self._created_group and dist.is_initialized():
                dist.destroy_process_group()
        return self.history

    def _train_epoch(self, epoch: int) -> dict[str, Any]:
        run = self.run
        if self.set_train_mode is not None:
            self.set_train_mode(self.model)
        else:
            self.model.train()
        self.generator.manual_seed((run.seed * 1000003 + self.rank * 7919 + epoch) % 2**63)
        loader = self._loader(epoch)
        total = len(loader) if run.max_steps_per_epoch is None else min(len(loader), run.max_steps_per_epoch)
        lr = self.optimizer.param_groups[0]["lr"]
        sums: dict[str, float] = {}
        count = 0
        samples = 0
        t0 = time.perf_counter()
        bar = None
        if run.progress and self.is_main:
            try:
                from tqdm.auto import tqdm
                bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{run.epochs}", leave=False, dynamic_ncols=True)
            except ImportError:  # pragma: no cover
                bar = None
        for i, batch in enumerate(loader):
            if i >= total:
                break
            ctx = self._ctx(epoch)
            with self.autocast():
                out = self.step_fn(self.forward_model, batch, ctx)
            loss = out["loss"]
            if not torch.isfinite(loss.detach()):
                raise FloatingPointError(f"non-finite loss {float(loss)} at epoch {epoch + 1}, step {i}")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if run.grad_clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], run.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.global_step += 1
            count += 1
            samples += _batch_size(batch)
            for k, v in out.items():
                if isinstance(v, torch.Tensor) and v.numel() == 1:
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            if run.log_every and self.global_step % run.log_every == 0 and self.is_main:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                with open(self.output_dir / "log.jsonl", "a") as f:
                    f.write(json.dumps({"epoch": epoch + 1, "step": self.global_step, "lr": lr,
                                        **{k: float(v.detach()) for k, v in out.items()
                                           if isinstance(v, torch.Tensor) and v.numel() == 1}}, sort_keys=True) + "\n")
        if bar is not None:
            bar.close()
        self.scheduler.step()
        elapsed = time.perf_counter() - t0
        if count == 0:
            raise ValueError(f"epoch {epoch + 1}: no training batch (dataset of {len(self.train_set)} items, "
                             f"batch_size {run.batch_size}, drop_last {run.drop_last}); lower the batch size")
        record: dict[str, Any] = {"epoch": epoch + 1, "step": self.global_step, "lr": lr, "steps": count,
                                  "time_s": elapsed, "samples_per_s": samples * self.world_size / max(elapsed, 1e-9)}
        record.update({f"train/{k}": v / count for k, v in sums.items()})
        if self.world_size > 1:  # average the epoch means over ranks
            keys = sorted(k for k in record if k.startswith("train/"))
            t = torch.tensor([record[k] for k in keys], dtype=torch.float64,
                             device=self.device if self.device.type == "cuda" else "cpu")
            dist.all_reduce(t)
            for k, v in zip(keys, (t / self.world_size).tolist()):
                record[k] = v
        if self.is_main:
            log.info("epoch %d: %s", epoch + 1, {k: record[k] for k in record if k.startswith("train/")})
        return record


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
        return int(batch[0].shape[0])
    if isinstance(batch, Mapping):
        for v in batch.values():
            if isinstance(v, torch.Tensor):
                return int(v.shape[0])
    return 0


def plot_curves(history: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> bool:
    """Loss / metric curves per epoch to a PNG; returns False (and does nothing) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if not history:
        return False
    epochs = [h["epoch"] for h in history]
    losses = sorted({k for h in history for k in h if k.startswith("train/loss")})
    metrics = sorted({k for h in history for k in h if k.startswith("eval/") and isinstance(h[k], (int, float))})
    ncols = 2 if metrics else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), squeeze=False)
    for k in losses:
        axes[0, 0].plot(epochs, [h.get(k, float("nan")) for h in history], marker="o", label=k[len("train/"):])
    axes[0, 0].set_xlabel("epoch")
    axes[0, 0].set_ylabel("loss")
    axes[0, 0].legend(fontsize=7)
    if metrics:
        for k in metrics:
            axes[0, 1].plot(epochs, [h.get(k, float("nan")) for h in history], marker="o", label=k[len("eval/"):])
        axes[0, 1].set_xlabel("epoch")
        axes[0, 1].set_ylabel("metric")
        axes[0, 1].legend(fontsize=7)
    fig.tight_layout()
    tmp = Path(path).with_name(f".{Path(path).name}.tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, path)
    return True
