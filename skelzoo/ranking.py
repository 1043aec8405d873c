"""Small numpy ordering helper shared by decoding and evaluation."""
from __future__ import annotations

import numpy as np

__all__ = ["order_by_group_then_score"]


def order_by_group_then_score(group: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``numpy.lexsort((-score, group))`` (group ascending, score descending, then index), computed with
    unstable sorts on unique integer keys (much faster than the stable float sort); ``group >= 0``."""
    n = score.size
    if n == 0 or np.isnan(score).any():
        return np.lexsort((-score, group))
    by_score = np.argsort(-score)
    ordered = score[by_score]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    dense = np.empty(n, dtype=np.int64)
    dense[by_score] = np.cumsum(new) - 1
    n_dense = int(dense[by_score[-1]]) + 1
    n_group = int(group.max()) + 1
    if n_group * n_dense * n >= 2**62:
        return np.lexsort((-score, group))
    return np.argsort((group.astype(np.int64) * n_dense + dense) * n + np.arange(n))
