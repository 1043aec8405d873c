"""Batching of variable-length sequences (docs/method.md §5: zero-pad at the end, CE on valid frames only)."""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from .prepare import IGNORE_INDEX

__all__ = ["UntrimmedBatch", "collate_untrimmed"]


class UntrimmedBatch(NamedTuple):
    """A padded batch: unpack as a tuple or use the fields.

    Attributes:
        x: float32 ``(N, C, T, V, M)``, zero after each sequence's end.
        labels: int64 ``(N, T)``, ``-100`` (CE ``ignore_index``) on padded frames.
        mask: bool ``(N, T)``, True on valid frames.
        lengths: int64 ``(N,)`` valid lengths.
    """

    x: torch.Tensor
    labels: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor


def collate_untrimmed(batch: Sequence[tuple[torch.Tensor, torch.Tensor]], *, pad_multiple: int = 1,
                      ignore_index: int = IGNORE_INDEX) -> UntrimmedBatch:
    """Pad ``(x (C, T, V, M), labels (T,))`` items to the longest ``T`` of the batch.

    Args:
        batch: items of :class:`~skelzoo.data.datasets.UntrimmedDataset` (tensors or arrays).
        pad_multiple: round the padded length up to a multiple of this (e.g. 8 for a backbone with
            three temporal strides); extra frames are padding like the others.
        ignore_index: label of padded frames.

    Use ``functools.partial(collate_untrimmed, pad_multiple=8)`` as a DataLoader ``collate_fn`` to
    change the options.
    """
    if len(batch) == 0:
        raise ValueError("empty batch")
    if pad_multiple < 1:
        raise ValueError("pad_multiple must be >= 1")
    xs = [torch.as_tensor(item[0], dtype=torch.float32) for item in batch]
    ys = [torch.as_tensor(item[1], dtype=torch.int64) for item in batch]
    c, _, v, m = xs[0].shape
    for x, y in zip(xs, ys):
        if x.ndim != 4 or (x.shape[0], x.shape[2], x.shape[3]) != (c, v, m):
            raise ValueError(f"items must be (C, T, V, M) = ({c}, T, {v}, {m}), got {tuple(x.shape)}")
        if y.shape != (x.shape[1],):
            raise ValueError(f"labels must be (T,) = ({x.shape[1]},), got {tuple(y.shape)}")
    lengths = torch.tensor([x.shape[1] for x in xs], dtype=torch.int64)
    t = int(lengths.max())
    t = -(-t // pad_multiple) * pad_multiple
    n = len(xs)
    out = torch.zeros((n, c, t, v, m), dtype=torch.float32)
    labels = torch.full((n, t), ignore_index, dtype=torch.int64)
    for i, (x, y) in enumerate(zip(xs, ys)):
        out[i, :, : x.shape[1]] = x
        labels[i, : y.shape[0]] = y
    mask = torch.arange(t)[None, :] < lengths[:, None]
    return UntrimmedBatch(out, labels, mask, lengths)
