"""Data plumbing of the training entry points: a synthetic prepared benchmark and a seeded subset.

The synthetic benchmark (``data.kind: synthetic``) is written with :func:`skelzoo.data.prepare.write_prepared`
from :func:`skelzoo.data.synth.synthesize` scripts, NTU pre-normalised, so that smoke runs and tests use
exactly the same dataset classes as real prepared data. Classes: the generator's actions except ``idle``,
which is the background.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from torch.utils.data import Dataset

__all__ = ["SYNTH_CLASSES", "synthetic_prepared", "LabelledSubset", "semi_indices"]

#: foreground classes of the synthetic benchmark (background = ``idle`` = index 5)
SYNTH_CLASSES = ("walk", "wave-right-hand", "raise-up-both-hands", "wave-left-hand", "run")


def _script(rng: random.Random, seconds: float) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    total = 0.0
    while total < seconds:
        idle = rng.uniform(0.5, 1.5)
        act = rng.choice(SYNTH_CLASSES)
        dur = rng.uniform(1.0, 3.0)
        out += [("idle", idle), (act, dur)]
        total += idle + dur
    out.append(("idle", 0.5))
    return out


def synthetic_prepared(directory: str | os.PathLike, *, splits: dict[str, int], seconds: float = 10.0,
                       seed: int = 0, progress: bool = False, rank: int | None = None) -> Path:
    """Write (once) a prepared benchmark of synthetic untrimmed sequences; returns its directory.

    Args:
        directory: output folder (reused when it already holds the same preparation).
        splits: number of sequences per split, e.g. ``{"train": 32, "test": 8}``.
        seconds: approximate length of every sequence.
        seed: seed of the scripts and the motion noise.
        rank: under ``torch.distributed``, rank 0 writes while the others wait at a barrier.
    """
    from ..data.prepare import SequenceRecord, plan_shards, write_prepared
    from ..data.synth import synthesize
    from ..data.transforms import ntu_pre_normalise

    names = list(SYNTH_CLASSES)
    bg = len(names)
    plan = []
    for split, n in splits.items():
        ids = [f"{split}-{i:04d}" for i in range(int(n))]
        plan += plan_shards(split, ids, [(split, i) for i in range(int(n))], per_shard=max(1, int(n)))

    def produce(shard: Any) -> list[SequenceRecord]:
        recs = []
        for (split, i), sid in zip(shard.task, shard.ids):
            s = (seed * 1_000_003 + sum(map(ord, split)) * 7919 + i) % 2**31
            seq, frame_names = synthesize(_script(random.Random(s), seconds), seed=s)
            data = np.asarray(ntu_pre_normalise(seq.data), dtype=np.float32)
            labels = np.array([names.index(a) if a in names else bg for a in frame_names], dtype=np.int16)
            recs.append(SequenceRecord(sid, data, labels, {"seed": s}))
        return recs

    info = {"name": "synthetic", "layout": "ntu25", "fps": 30.0, "class_names": names, "background_index": bg,
            "labels": "frame", "source": {"generator": "skelzoo.data.synth"}, "seed": seed,
            "preprocessing": {"ntu_pre_normalisation": True},
            "params": {"seconds": seconds, "splits": dict(splits)}}
    import torch.distributed as dist

    distributed = rank is not None and dist.is_available() and dist.is_initialized()
    if not distributed or rank == 0:
        write_prepared(directory, plan, produce, info=info, progress=progress)
    if distributed:
        dist.barrier()
    return Path(directory)


def semi_indices(num_items: int, fraction: float = 0.2, seed: int = 4) -> list[int]:
    """Indices of the labelled sequences of the semi-supervised protocol: ``max(1, int(fraction·N))``
    drawn with ``random.Random(seed).sample`` and sorted (docs/method.md §9)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label fraction must be in (0, 1], got {fraction}")
    k = max(1, int(fraction * num_items))
    return sorted(random.Random(seed).sample(range(num_items), k))


class LabelledSubset(Dataset):
    """``dataset`` restricted to ``indices``; forwards ``set_epoch``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[self.indices[i]]
