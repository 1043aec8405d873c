"""PyTorch datasets over prepared directories (:mod:`skelzoo.data.prepare`).

- :class:`UntrimmedDataset`: whole untrimmed sequences with per-frame labels, for localization
  finetuning and evaluation (batch them with :func:`skelzoo.data.collate.collate_untrimmed`).
- :class:`ClipDataset`: fixed-length clips, for contrastive pretraining (labels unused).

Items are ``x`` float32 ``(C, T, V, M)`` tensors (the model layout without the batch axis). Randomness
comes only from an explicit ``seed``, the item index and the epoch (:meth:`set_epoch`), so results do
not depend on the number of DataLoader workers or on global RNG state.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Literal

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from .prepare import IGNORE_INDEX, PreparedDataset

__all__ = ["fit_persons", "to_ctvm_tensor", "UntrimmedDataset", "ClipDataset", "ConcatClips"]

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _open(prepared: "str | os.PathLike | PreparedDataset", split: str) -> PreparedDataset:
    ds = prepared if isinstance(prepared, PreparedDataset) else PreparedDataset(prepared)
    ds._split(split)  # validates the split name
    return ds


def fit_persons(data: np.ndarray, num_persons: int | None) -> np.ndarray:
    """``(T, M, V, C)`` with exactly ``num_persons`` persons: the first ones kept, zero persons appended
    (``None``: unchanged)."""
    if num_persons is None or data.shape[1] == num_persons:
        return data
    if data.shape[1] > num_persons:
        return data[:, :num_persons]
    pad = np.zeros((data.shape[0], num_persons - data.shape[1]) + data.shape[2:], data.dtype)
    return np.concatenate([data, pad], axis=1)


def to_ctvm_tensor(data: np.ndarray) -> torch.Tensor:
    """``(T, M, V, C)`` -> float32 tensor ``(C, T, V, M)``, NaN/inf set to 0 (the model input of one sample)."""
    data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    return torch.from_numpy(np.ascontiguousarray(data.transpose(3, 0, 2, 1), dtype=np.float32))


class _Base(Dataset):
    def __init__(self, prepared_dir: "str | os.PathLike | PreparedDataset", split: str, *, seed: int,
                 num_persons: int | None, transform: Transform | None) -> None:
        self.prepared = _open(prepared_dir, split)
        self.split = split
        self.seed = int(seed)
        self.epoch = 0
        self.num_persons = num_persons
        self.transform = transform
        self._lengths = self.prepared.lengths(split)

    def set_epoch(self, epoch: int) -> None:
        """Select the random crops of ``epoch`` (call once per epoch, before iterating)."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    @property
    def class_names(self) -> list[str]:
        return self.prepared.class_names

    @property
    def background_index(self) -> int | None:
        return self.prepared.background_index

    @property
    def num_classes(self) -> int:
        """Output classes including background."""
        return self.prepared.num_classes

    @property
    def ids(self) -> list[str]:
        return self.prepared.ids(self.split)

    def _load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        data, labels = self.prepared.get(self.split, i)
        return fit_persons(data, self.num_persons), labels

    def _finish(self, data: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        if self.transform is not None:
            data = self.transform(data, rng)
        return to_ctvm_tensor(data)


class UntrimmedDataset(_Base):
    """Whole sequences with per-frame labels: items ``(x (C, T, V, M) float32, labels (T,) int64)``.

    Args:
        prepared_dir: a prepared directory (or an open :class:`PreparedDataset`).
        split: split name (e.g. ``"train"``, ``"test"``).
        max_len: if set, sequences longer than this are cropped to ``max_len`` frames.
        random_crop: the crop window is random (training; depends on ``seed``, index and epoch);
            otherwise it is the first ``max_len`` frames (evaluation, deterministic).
        seed: seed of the crops and of ``transform``'s generator.
        num_persons: trim or zero-pad ``M`` to this many persons (default: as stored).
        transform: optional ``f(data (T, M, V, C), rng) -> data`` applied before the layout change
            (augmentations; must keep ``T``).

    Labels: class index per frame, background = ``background_index`` (``K``), ``-100`` for unlabelled
    frames.
    """

    def __init__(self, prepared_dir: "str | os.PathLike | PreparedDataset", split: str, *,
                 max_len: int | None = None, random_crop: bool = False, seed: int = 0,
                 num_persons: int | None = None, transform: Transform | None = None) -> None:
        super().__init__(prepared_dir, split, seed=seed, num_persons=num_persons, transform=transform)
        if max_len is not None and max_len < 1:
            raise ValueError("max_len must be >= 1")
        self.max_len = max_len
        self.random_crop = bool(random_crop)

    def __len__(self) -> int:
        return len(self._lengths)

    @property
    def lengths(self) -> np.ndarray:
        """Lengths after cropping (``min(T, max_len)``), e.g. for length-bucketed sampling."""
        return self._lengths if self.max_len is None else np.minimum(self._lengths, self.max_len)

    def crop_window(self, index: int) -> tuple[int, int]:
        """``(start, stop)`` frames that item ``index`` returns at the current epoch."""
        t = int(self._lengths[index])
        if self.max_len is None or t <= self.max_len:
            return 0, t
        start = int(self._rng(index).integers(0, t - self.max_len + 1)) if self.random_crop else 0
        return start, start + self.max_len

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index = index % len(self)
        data, labels = self._load(index)
        a, b = self.crop_window(index)
        rng = self._rng(index)
        rng.integers(0, 2)  # keep the crop draw separate from the transform's draws
        x = self._finish(data[a:b], rng)
        return x, torch.from_numpy(labels[a:b].astype(np.int64))


def _interp(data: np.ndarray, start: float, stop: float, n: int) -> np.ndarray:
    """``n`` frames linearly interpolated over ``[start, stop)`` of ``data`` ``(T, ...)``."""
    t = data.shape[0]
    if n == 1:
        pos = np.array([min(t - 1, (start + stop - 1) / 2)])
    else:
        pos = np.linspace(start, max(start, stop - 1), n)
    pos = np.clip(pos, 0, t - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (data.ndim - 1)).astype(np.float32)
    return (1 - w) * data[lo] + w * data[hi]


class ClipDataset(_Base):
    """Fixed-length clips ``(C, clip_len, V, M)`` for contrastive pretraining.

    Args:
        prepared_dir, split: as for :class:`UntrimmedDataset`.
        clip_len: output frames.
        mode: ``"random"``: a random window covering a fraction ``U(crop_ratio)`` of the sequence,
            at a random start, linearly resampled to ``clip_len`` frames (training);
            ``"uniform"``: the whole sequence resampled to ``clip_len`` (deterministic);
            ``"crop"``: a random window of exactly ``clip_len`` consecutive frames (no resampling;
            shorter sequences are zero-padded at the end);
            ``"sliding"``: every window of ``clip_len`` frames with step ``stride`` of every sequence
            (deterministic; items enumerate (sequence, window); the last window is zero-padded).
        crop_ratio: ``(low, high)`` fraction of the sequence covered by a ``"random"`` window.
        stride: window step of ``"sliding"`` (default ``clip_len``).
        seed, num_persons, transform: as for :class:`UntrimmedDataset`.
        return_labels: items are ``(x, labels (clip_len,))`` (nearest-frame labels, ``-100`` on padding)
            instead of ``x``.
    """

    def __init__(self, prepared_dir: "str | os.PathLike | PreparedDataset", split: str, clip_len: int = 64, *,
                 mode: Literal["random", "uniform", "crop", "sliding"] = "random",
                 crop_ratio: tuple[float, float] = (0.5, 1.0), stride: int | None = None, seed: int = 0,
                 num_persons: int | None = None, transform: Transform | None = None,
                 return_labels: bool = False) -> None:
        super().__init__(prepared_dir, split, seed=seed, num_persons=num_persons, transform=transform)
        if clip_len < 1:
            raise ValueError("clip_len must be >= 1")
        if mode not in ("random", "uniform", "crop", "sliding"):
            raise ValueError(f"mode must be 'random', 'uniform', 'crop' or 'sliding', got {mode!r}")
        lo, hi = crop_ratio
        if not 0 < lo <= hi <= 1:
            raise ValueError("crop_ratio must satisfy 0 < low <= high <= 1")
        self.clip_len = int(clip_len)
        self.mode = mode
        self.crop_ratio = (float(lo), float(hi))
        self.stride = int(stride or clip_len)
        if self.stride < 1:
            raise ValueError("stride must be >= 1")
        self.return_labels = bool(return_labels)
        self._windows: np.ndarray | None = None
        if mode == "sliding":
            rows = []
            for i, t in enumerate(self._lengths):
                starts = np.arange(0, max(int(t) - self.clip_len, 0) + 1, self.stride)
                if starts[-1] + self.clip_len < t:
                    starts = np.append(starts, t - self.clip_len)
                rows += [(i, int(s)) for s in starts]
            self._windows = np.array(rows, dtype=np.int64).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self._windows) if self._windows is not None else len(self._lengths)

    def __getitem__(self, index: int) -> Any:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index = index % len(self)
        rng = self._rng(index)
        n = self.clip_len
        if self._windows is not None:
            seq, start = (int(v) for v in self._windows[index])
            data, labels = self._load(seq)
            clip, lab = self._window(data, labels, start)
        else:
            data, labels = self._load(index)
            t = data.shape[0]
            if self.mode == "crop":
                start = int(rng.integers(0, max(t - n, 0) + 1))
                clip, lab = self._window(data, labels, start)
            else:
                if self.mode == "random":
                    ratio = rng.uniform(*self.crop_ratio)
                    size = min(t, max(1, int(round(ratio * t))))
                    start = int(rng.integers(0, t - size + 1))
                else:
                    size, start = t, 0
                clip = _interp(data, start, start + size, n).astype(np.float32)
                pos = np.clip(np.round(np.linspace(start, start + size - 1, n)).astype(np.int64), 0, t - 1)
                lab = labels[pos]
        x = self._finish(clip, rng)
        if self.return_labels:
            return x, torch.from_numpy(lab.astype(np.int64))
        return x

    def _window(self, data: np.ndarray, labels: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.clip_len
        clip = data[start:start + n]
        lab = labels[start:start + n]
        if clip.shape[0] < n:
            pad = n - clip.shape[0]
            clip = np.concatenate([clip, np.zeros((pad,) + clip.shape[1:], clip.dtype)])
            lab = np.concatenate([lab, np.full(pad, IGNORE_INDEX, lab.dtype)])
        return clip, lab


class ConcatClips(ConcatDataset):
    """Several :class:`ClipDataset` s as one (e.g. composed untrimmed sequences + every trimmed clip), with
    :meth:`set_epoch` forwarded to each. ``prepared`` is the first part's (its preprocessing and fps must be
    those of every part: checked)."""

    def __init__(self, parts: "list[ClipDataset]") -> None:
        if not parts:
            raise ValueError("ConcatClips needs at least one dataset")
        first = parts[0].prepared
        for p in parts[1:]:
            if (p.prepared.preprocess, p.prepared.fps, p.prepared.layout) != (first.preprocess, first.fps,
                                                                              first.layout):
                raise ValueError(f"prepared datasets differ in preprocessing, fps or layout: {first.root} "
                                 f"({first.preprocess!r}, {first.fps}, {first.layout}) vs {p.prepared.root} "
                                 f"({p.prepared.preprocess!r}, {p.prepared.fps}, {p.prepared.layout})")
        super().__init__(parts)
        self.prepared = first

    def set_epoch(self, epoch: int) -> None:
        for p in self.datasets:
            p.set_epoch(epoch)  # type: ignore[attr-defined]
