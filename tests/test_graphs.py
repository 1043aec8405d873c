"""Graph builders against the facts of docs/backbones.md §2 and the golden checksums."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from skelzoo import graphs
from skelzoo.layouts import get_layout, list_layouts


def nnz(a):
    return [int((x != 0).sum()) for x in a]


def test_stgcn_spatial_ntu_facts():
    a = graphs.stgcn_spatial("ntu25")
    assert a.shape == (3, 25, 25) and a.dtype == np.float32
    assert nnz(a) == [25, 40, 8]
    np.testing.assert_allclose(a.sum(axis=(1, 2)), [8.95, 13.30, 2.75], atol=1e-5)
    # subset 2 (source -> target, 1-based) holds exactly these entries
    got = {(int(j) + 1, int(i) + 1) for j, i in np.argwhere(a[2])}
    assert got == {(21, 2), (21, 3), (21, 5), (21, 9), (2, 1), (3, 4), (5, 6), (9, 10)}
    # joint 1 self weight 0.25, joint 21 0.2; every target column sums to 1 over subsets
    assert a[0, 0, 0] == pytest.approx(0.25) and a[0, 20, 20] == pytest.approx(0.2)
    np.testing.assert_allclose(a.sum(axis=(0, 1)), 1.0, atol=1e-6)


def test_stgcn_spatial_pyskl_hands():
    a = graphs.stgcn_spatial("ntu25_pyskl")
    np.testing.assert_allclose(a.sum(axis=(1, 2)), [9.116667, 13.133333, 2.75], atol=1e-5)


def test_agcn_spatial_facts():
    a = graphs.agcn_spatial("ntu25")
    assert nnz(a) == [25, 24, 24]
    np.testing.assert_allclose(a.sum(axis=(1, 2)), [25, 24, 20], atol=1e-5)
    p = graphs.agcn_spatial("ntu25_pyskl")
    np.testing.assert_array_equal(p[0], a[0])
    assert p[2].sum() == pytest.approx(18)


def _sha(t: np.ndarray) -> str:
    import hashlib
    return hashlib.sha256(np.ascontiguousarray(t, dtype=np.float32).tobytes()).hexdigest()


def test_graphs_bit_identical_to_official(reference_dir):
    import json
    g = json.loads((reference_dir / "golden" / "stgcn.json").read_text())
    assert _sha(graphs.stgcn_spatial("ntu25")) == g["state_dict"]["official_checksums"]["A"]["sha256"]
    g = json.loads((reference_dir / "golden" / "pyskl_stgcn.json").read_text())
    chk = g["state_dict"]["official_checksums"]["backbone.gcn.0.gcn.A"]
    assert _sha(graphs.stgcn_spatial("ntu25_pyskl")) == chk["sha256"]
    g = json.loads((reference_dir / "golden" / "pyskl_ctrgcn.json").read_text())
    chk = g["state_dict"]["official_checksums"]["backbone.A"]
    assert _sha(graphs.agcn_spatial("ntu25_pyskl")) == chk["sha256"]


@pytest.mark.parametrize("name", list_layouts())
def test_layouts_are_consistent(name):
    lay = get_layout(name)
    assert len(set(lay.joints)) == lay.num_joints
    perm = lay.flip_permutation()
    assert sorted(perm) == list(range(lay.num_joints))
    assert tuple(perm[i] for i in perm) == tuple(range(lay.num_joints))  # an involution
    # every joint but the root reaches the centre through parents
    par = lay.parents()
    for j in range(lay.num_joints):
        seen = set()
        while par[j] != j and j not in seen:
            seen.add(j)
            j = par[j]
    adj = graphs.binary_adjacency(lay)
    assert (adj == adj.T).all() and adj.sum() == 2 * len(lay.bones)


def test_unknown_layout_lists_known():
    with pytest.raises(ValueError, match="ntu25"):
        get_layout("ntu26")


def test_multiscale_and_window():
    a = graphs.binary_adjacency("ntu25")
    ms = graphs.multiscale_adjacency(a, 13)
    assert ms.shape == (13, 25, 25)
    np.testing.assert_allclose(ms[0], np.eye(25), atol=1e-7)
    w = graphs.spatio_temporal_window(a, 3)
    assert w.shape == (75, 75)
    assert torch.as_tensor(w).sum() == 9 * (a.sum() + 25)
