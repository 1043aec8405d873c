"""Contrastive losses, queues, momentum update and augmentations against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from skelzoo.contrastive import (
    EmbeddingQueue,
    SkeletonCLR,
    SnipCLR,
    info_nce,
    momentum_update,
    multi_positive_nce,
    snippet_correspondence,
    snippet_nce,
)
from skelzoo.contrastive.moco import mining_mask
from skelzoo.contrastive.skeletonclr import tempo_ranking_loss
from skelzoo.data import augment as A

torch.set_num_threads(1)
TINY = {"num_person": 1, "hidden_channels": 4, "hidden_dim": 16}


def _nce(pos: float, negs: list[float], tau: float) -> float:
    num = math.exp(pos / tau)
    return -math.log(num / (num + sum(math.exp(n / tau) for n in negs)))


# ---------------------------------------------------------------------------------------------- InfoNCE
def test_info_nce_matches_hand_computation():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    queue = torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # (D=2, K=3) columns (1,0), (0,1), (-1,0)
    tau = 0.5
    l0 = _nce(0.6, [1.0, 0.0, -1.0], tau)
    l1 = _nce(1.0, [0.0, 1.0, 0.0], tau)
    assert float(info_nce(q, k, queue, tau)) == pytest.approx((l0 + l1) / 2, rel=1e-6)


def test_multi_positive_and_mining_mask():
    logits = torch.tensor([[2.0, 0.5, 1.5, -1.0]])
    mask = mining_mask(logits, topk=1)
    assert mask.tolist() == [[True, False, True, False]]
    logp = torch.log_softmax(logits, -1)[0]
    expected = -(logp[0] + logp[2]) / 2
    assert float(multi_positive_nce(logits, mask)) == pytest.approx(float(expected), rel=1e-6)
    # top-0 = plain InfoNCE with the positive at column 0
    assert float(multi_positive_nce(logits, mining_mask(logits, 0))) == pytest.approx(float(-logp[0]), rel=1e-6)


def test_tempo_ranking_loss():
    q = torch.tensor([[1.0, 0.0]])
    same, other = torch.tensor([[0.8, 0.6]]), torch.tensor([[0.6, 0.8]])
    # 1 - (0.8 - 0.6)/0.1 = -1 -> 0 ; with tau=1: 1 - 0.2 = 0.8
    assert float(tempo_ranking_loss(q, same, other, 0.1)) == pytest.approx(0.0)
    assert float(tempo_ranking_loss(q, same, other, 1.0)) == pytest.approx(0.8)


# ---------------------------------------------------------------------------------------------- snippets
def test_snippet_correspondence_argmax_and_index():
    # backbone snippet features (B=1, D=2, S=3): key snippets are the query's in the order 2, 0, 1
    fq = torch.tensor([[[3.0, 0.0, 1.0], [0.0, 3.0, 1.0]]])
    fk = fq[:, :, [1, 2, 0]]
    match = snippet_correspondence(fq, fk, "argmax")
    # query snippet 0 = (3,0): key scores [0, 3, 9] -> 2 ; snippet 1 = (0,3): [9, 3, 0] -> 0 ; snippet 2 = (1,1): [3, 2, 3] -> 0 (first)
    assert match.tolist() == [[2, 0, 0]]
    assert snippet_correspondence(fq, fk, "index").tolist() == [[0, 1, 2]]


def test_snippet_loss_with_known_correspondence():
    tau = 0.2
    s2 = 1 / math.sqrt(2)
    # unit snippet embeddings (B=1, dim=2, S=2)
    d_q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])            # snippets (1,0), (0,1)
    d_k = torch.tensor([[[0.0, s2], [1.0, s2]]])              # snippets (0,1), (s2,s2)
    queue = torch.tensor([[1.0, -1.0], [0.0, 0.0]])           # columns (1,0), (-1,0)
    match = torch.tensor([[1, 0]])                            # q0 <-> k1, q1 <-> k0
    l0 = _nce(s2, [1.0, -1.0], tau)                           # q0·k1 = s2 ; q0·Q = 1, -1
    l1 = _nce(1.0, [0.0, 0.0], tau)                           # q1·k0 = 1 ; q1·Q = 0, 0
    assert float(snippet_nce(d_q, d_k, queue, match, tau)) == pytest.approx((l0 + l1) / 2, rel=1e-6)
    # mining top-1: q0 adds column (1,0) (logit 1), q1 adds the first of two ties
    got = float(snippet_nce(d_q, d_k, queue, match, tau, mining_topk=1))
    lp0 = torch.log_softmax(torch.tensor([s2, 1.0, -1.0]) / tau, 0)
    lp1 = torch.log_softmax(torch.tensor([1.0, 0.0, 0.0]) / tau, 0)
    assert got == pytest.approx(float((-(lp0[0] + lp0[1]) / 2 - (lp1[0] + lp1[1]) / 2) / 2), rel=1e-5)


# ---------------------------------------------------------------------------------------------- queue / momentum
def test_queue_pointer_and_wrap_around():
    q = EmbeddingQueue(2, 5, seed=0)
    init = q.queue.clone()
    assert torch.allclose(q.queue.norm(dim=0), torch.ones(5))
    a = torch.arange(6, dtype=torch.float32).view(3, 2)
    q.enqueue(a)
    assert int(q.ptr) == 3
    assert torch.equal(q.queue[:, :3], a.t()) and torch.equal(q.queue[:, 3:], init[:, 3:])
    b = 10 + torch.arange(6, dtype=torch.float32).view(3, 2)
    q.enqueue(b)  # columns 3, 4, 0
    assert int(q.ptr) == 1
    assert torch.equal(q.queue[:, 3], b[0]) and torch.equal(q.queue[:, 4], b[1]) and torch.equal(q.queue[:, 0], b[2])
    assert torch.equal(q.queue[:, 1:3], a.t()[:, 1:3])
    c = 100 + torch.arange(14, dtype=torch.float32).view(7, 2)  # more keys than columns: the last 5 survive
    q.enqueue(c)
    assert int(q.ptr) == (1 + 7) % 5
    got = {tuple(col) for col in q.queue.t().tolist()}
    assert got == {tuple(r) for r in c[-5:].tolist()}


def test_momentum_update_by_hand():
    online, target = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        online.weight.fill_(3.0), online.bias.fill_(-1.0)
        target.weight.fill_(1.0), target.bias.fill_(1.0)
    momentum_update(online, target, 0.9)
    assert torch.allclose(target.weight, torch.full((1, 2), 1.2))
    assert torch.allclose(target.bias, torch.full((1,), 0.8))
    assert torch.allclose(online.weight, torch.full((1, 2), 3.0))


# ---------------------------------------------------------------------------------------------- models
@pytest.mark.parametrize("cls", [SkeletonCLR, SnipCLR])
def test_model_forward_updates_queues(cls):
    torch.manual_seed(0)
    kw = dict(num_snippets=5) if cls is SnipCLR else {}
    m = cls("stgcn_ssl", backbone_args=TINY, queue_size=8, relative_tempo=True, **kw)
    for pq, pk in zip(m.encoder_q.parameters(), m.encoder_k.parameters()):
        assert torch.equal(pq, pk)  # key encoder copied after the init
    x = torch.randn(3, 3, 16, 25, 1)
    out = m(x, x.flip(2), x * 0.9, epoch=1)
    assert torch.isfinite(out["loss"]) and out["loss"].requires_grad
    out["loss"].backward()
    assert int(m.queue.ptr) == 3
    if cls is SnipCLR:
        assert int(m.snippet_queue.ptr) == 3 and "loss_snippet" in out
        expected = out["loss_instance"] + out["loss_instance_tempo"] + out["loss_tempo"] + 1.5 * out["loss_snippet"]
        assert float(out["loss"].detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    assert all(p.grad is None for p in m.encoder_k.parameters())


# ---------------------------------------------------------------------------------------------- augmentations
def _seq(n=2, t=12):
    x = torch.zeros(n, 3, t, 25, 1)
    x[:, :, :, :, 0] = torch.arange(t, dtype=torch.float32)[None, None, :, None] + 1.0
    return x


def test_temporal_crop_is_a_window_of_the_reflect_padded_sequence():
    x = _seq(4, 12)
    g = torch.Generator().manual_seed(3)
    y = A.temporal_crop(x, padding_ratio=6, generator=g)  # p = 2 -> padded frames 2,1,1..12,12,11
    padded = [2, 1] + list(range(1, 13)) + [12, 11]
    for b in range(4):
        frames = y[b, 0, :, 0, 0].tolist()
        assert any(frames == padded[s:s + 12] for s in range(5))
    # padding after the valid length stays zero, valid part comes from the first 6 frames only
    y = A.temporal_crop(x, padding_ratio=6, lengths=torch.tensor([6, 12, 12, 12]), generator=g)
    assert torch.all(y[0, :, 6:] == 0) and set(y[0, 0, :6, 0, 0].tolist()) <= set(range(1, 7))


def test_blur_kernel_quirk_and_clean_mode():
    sigma = torch.tensor([0.1, 2.0])
    raw = A.gaussian_kernel(sigma, 15, normalize=False).sum(1)
    assert raw[0] == pytest.approx(1.0, abs=1e-6) and raw[1] == pytest.approx(5.0133, abs=1e-3)
    x = torch.ones(2, 3, 40, 25, 1)
    g = torch.Generator().manual_seed(0)
    y = A.gaussian_blur(x, p=1.0, normalize=True, generator=g)
    assert torch.allclose(y[:, :, 7:-7], x[:, :, 7:-7], atol=1e-5)  # normalised: constants preserved inside
    y = A.gaussian_blur(x, p=1.0, normalize=False, generator=torch.Generator().manual_seed(0))
    assert float(y[:, :, 7:-7].amax()) > 1.0  # AimCLR gain


def test_shear_flip_axis_mask_noise_rotate():
    x = torch.randn(3, 3, 8, 25, 1)
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(A.shear(x, amplitude=0.0, generator=g), x)
    f = A.flip(A.flip(x, p=1.0, generator=g), p=1.0, generator=g)
    assert torch.allclose(f, x)
    f1 = A.flip(x, p=1.0, generator=g)
    assert torch.allclose(f1[:, 0, :, 4], -x[:, 0, :, 8]) and torch.allclose(f1[:, 1, :, 4], x[:, 1, :, 8])
    m = A.axis_mask(x, p=1.0, generator=g)
    assert all(int((m[b].abs().sum(dim=(1, 2, 3)) == 0).sum()) == 1 for b in range(3))
    assert torch.equal(A.gaussian_noise(x, p=0.0, generator=g), x)
    r = A.rotate(x, degrees=40, p=1.0, generator=g)
    assert torch.allclose(r.norm(dim=1), x.norm(dim=1), atol=1e-5)  # rotations keep lengths


def test_views_are_seeded_and_batched():
    from skelzoo.training.pretrain import make_views

    x = torch.randn(4, 3, 32, 25, 1)
    cfg = A.AugmentConfig()
    v1 = make_views(x, cfg, relative_tempo=True, view_frames=16, generator=torch.Generator().manual_seed(1))
    v2 = make_views(x, cfg, relative_tempo=True, view_frames=16, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(v1[k], v2[k]) for k in v1) and v1["query"].shape == (4, 3, 16, 25, 1)
    assert not torch.equal(v1["query"][0], v1["query"][1])
    t = A.tempo_resample(_seq(1, 12), torch.tensor([2]), 4)
    assert t[0, 0, :, 0, 0].tolist() == [1.0, 3.0, 5.0, 7.0]
    assert F.normalize(torch.ones(1, 2)).shape == (1, 2)
