"""Graph builders: layout in, numpy adjacency out. Pure functions, no state.

They reproduce the official adjacency tensors bit for bit (see ``tests/test_graphs.py``):

- :func:`stgcn_spatial` — ST-GCN ``spatial`` partition (``max_hop=1``), including the quirk that the
  hop distance is computed only up to one hop, which leaves 8 entries in the third subset for NTU-25.
- :func:`agcn_spatial` — 2s-AGCN / AAGCN / CTR-GCN ``spatial`` graph: identity, column-normalised inward,
  column-normalised outward.
- :func:`multiscale_adjacency` — MS-G3D "exactly k hops" scales, symmetric (official) or column (pyskl)
  normalised; :func:`spatio_temporal_window` tiles a graph over a window of frames (G3D).
"""
from __future__ import annotations

import numpy as np

from .layouts import Layout, get_layout

__all__ = [
    "edge_matrix", "binary_adjacency", "normalize_columns", "normalize_symmetric", "hop_distance",
    "stgcn_spatial", "agcn_spatial", "k_adjacency", "multiscale_adjacency", "spatio_temporal_window",
]


def edge_matrix(edges: "list[tuple[int, int]] | tuple[tuple[int, int], ...]", num_nodes: int) -> np.ndarray:
    """``E[j, i] = 1`` for every edge ``(i, j)`` (float32, ``(V, V)``)."""
    e = np.zeros((num_nodes, num_nodes), dtype=np.float32)
    if len(edges):
        idx = np.asarray(edges, dtype=np.int64)
        e[idx[:, 1], idx[:, 0]] = 1.0
    return e


def binary_adjacency(layout: str | Layout) -> np.ndarray:
    """Symmetric 0/1 bone adjacency without self-loops, ``(V, V)`` float32."""
    lay = get_layout(layout)
    a = edge_matrix(lay.bones, lay.num_joints)
    return np.maximum(a, a.T)


def normalize_columns(a: np.ndarray) -> np.ndarray:
    """Divide each column by its sum (``A D^-1``, float64); zero columns stay zero."""
    a = np.asarray(a, dtype=np.float64)
    s = a.sum(axis=0)
    inv = np.zeros_like(s)
    np.divide(1.0, s, out=inv, where=s > 0)
    return a * inv[None, :]


def normalize_symmetric(a: np.ndarray) -> np.ndarray:
    """``D^-1/2 A D^-1/2`` with row degrees, as the official MS-G3D computes it; zero-degree nodes stay 0.

    Degrees and their inverse square roots are float32 (the official adjacency is float32), the products
    float64 — this order reproduces the official constants bit for bit after the final float32 cast.
    """
    a32 = np.asarray(a, dtype=np.float32)
    d = a32.sum(axis=-1)
    inv = np.zeros_like(d)
    np.power(d, np.float32(-0.5), out=inv, where=d > 0)
    inv64 = inv.astype(np.float64)
    return inv64[:, None] * a32.astype(np.float64) * inv64[None, :]


def hop_distance(layout: str | Layout, max_hop: int = 1) -> np.ndarray:
    """Hop distance between joints, ``inf`` beyond ``max_hop`` (the ST-GCN convention), ``(V, V)``."""
    lay = get_layout(layout)
    v = lay.num_joints
    a = binary_adjacency(lay).astype(np.float64) + np.eye(v)
    dist = np.full((v, v), np.inf)
    reach = [np.linalg.matrix_power(a.astype(np.float64), d) > 0 for d in range(max_hop + 1)]
    for d in range(max_hop, -1, -1):
        dist[reach[d]] = d
    return dist


def stgcn_spatial(layout: str | Layout, max_hop: int = 1) -> np.ndarray:
    """ST-GCN ``spatial`` partition ``(3, V, V)`` (rows = source, columns = target).

    Subsets: 0 root (self-loops), 1 centripetal + equal-distance, 2 centrifugal. Distances to the centre
    are hop distances limited to ``max_hop`` (farther = inf), exactly as the official code does.
    """
    lay = get_layout(layout)
    v = lay.num_joints
    dist = hop_distance(lay, max_hop)
    adj = (dist <= max_hop).astype(np.float64)
    norm = normalize_columns(adj)
    c = lay.center
    root = np.zeros((max_hop + 1, v, v))
    close = np.zeros_like(root)
    further = np.zeros_like(root)
    dc = dist[:, c]
    for hop in range(max_hop + 1):
        mask = dist == hop  # [j, i]: source j, target i
        src = dc[:, None]
        tgt = dc[None, :]
        # comparisons with inf follow IEEE: inf == inf is True, as in the official code
        eq = mask & (src == tgt)
        cl = mask & (src > tgt)
        fu = mask & ~(src == tgt) & ~(src > tgt)
        root[hop][eq] = norm[eq]
        close[hop][cl] = norm[cl]
        further[hop][fu] = norm[fu]
    out = [root[0]]
    for hop in range(1, max_hop + 1):
        out.append(root[hop] + close[hop])
        out.append(further[hop])
    return np.stack(out).astype(np.float32)


def agcn_spatial(layout: str | Layout) -> np.ndarray:
    """2s-AGCN / CTR-GCN ``spatial`` graph ``(3, V, V)``: I, N(inward), N(outward) (column-normalised)."""
    lay = get_layout(layout)
    v = lay.num_joints
    inward = list(lay.bones)
    outward = [(p, c) for c, p in inward]
    return np.stack([
        np.eye(v),
        normalize_columns(edge_matrix(inward, v)),
        normalize_columns(edge_matrix(outward, v)),
    ]).astype(np.float32)


def k_adjacency(a: np.ndarray, k: int, with_self: bool = False, self_factor: float = 1.0) -> np.ndarray:
    """Nodes exactly ``k`` hops apart (``min((A+I)^k,1) - min((A+I)^(k-1),1)``), optionally plus ``I``."""
    eye = np.eye(len(a), dtype=a.dtype)
    if k == 0:
        return eye
    a = np.asarray(a, dtype=np.float64)
    eye = np.eye(len(a))
    ak = np.minimum(np.linalg.matrix_power(a + eye, k), 1) - np.minimum(np.linalg.matrix_power(a + eye, k - 1), 1)
    if with_self:
        ak = ak + self_factor * eye
    return ak


def multiscale_adjacency(a_binary: np.ndarray, num_scales: int, *, normalization: str = "symmetric") -> np.ndarray:
    """Stack of ``num_scales`` k-hop adjacencies (each plus ``I``) ``(K, V, V)``.

    ``normalization``: ``"symmetric"`` (official MS-G3D) or ``"column"`` (pyskl).
    """
    if normalization not in ("symmetric", "column"):
        raise ValueError(f"normalization must be 'symmetric' or 'column', got {normalization!r}")
    norm = normalize_symmetric if normalization == "symmetric" else normalize_columns
    scales = [norm(k_adjacency(a_binary, k, with_self=True)) for k in range(num_scales)]
    return np.stack(scales).astype(np.float32)


def spatio_temporal_window(a_binary: np.ndarray, window: int, *, self_loops: bool = True) -> np.ndarray:
    """Tile ``A (+ I)`` over a window of ``window`` frames: ``(window*V, window*V)`` (G3D graph)."""
    base = a_binary + np.eye(len(a_binary), dtype=a_binary.dtype) if self_loops else a_binary
    return np.tile(base, (window, window)).astype(np.float32)
