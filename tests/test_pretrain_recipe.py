"""The second pretraining recipe: in-batch negatives, symmetric loss, cosine snippet matching, in-batch
snippet negatives, scale augmentation, body-size normalisation, pooled datasets, probes and diagnostics."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skelzoo.contrastive import SkeletonCLR, SnipCLR, snippet_correspondence
from skelzoo.contrastive.diagnostics import _queue_ages, freshness_test, key_age_profile, snippet_matching
from skelzoo.contrastive.moco import batch_nce_logits
from skelzoo.contrastive.skeletonclr import contrast
from skelzoo.contrastive.snippet import snippet_batch_logits, snippet_nce
from skelzoo.data import augment as A
from skelzoo.data import transforms as T
from skelzoo.evaluation.probe import knn_probe, linear_probe
from skelzoo.layouts import get_layout

torch.set_num_threads(1)
TINY = {"num_person": 1, "hidden_channels": 4, "hidden_dim": 16}


def _unit(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g), dim=1)


# ---------------------------------------------------------------------------------------------- instance
def test_batch_negatives_by_hand():
    q, k = _unit(3, 4, seed=1), _unit(3, 4, seed=2)
    logits, target = batch_nce_logits(q, k, 0.5)
    assert target.tolist() == [0, 1, 2]
    assert torch.allclose(logits, q @ k.t() / 0.5)
    loss, acc, mask = contrast(q, k, None, 0.5)
    by_hand = sum(-math.log(math.exp(float(q[i] @ k[i]) / 0.5) / sum(math.exp(float(q[i] @ k[j]) / 0.5)
                                                                      for j in range(3))) for i in range(3)) / 3
    assert float(loss) == pytest.approx(by_hand, rel=1e-5)
    assert mask.sum() == 3 and mask[torch.arange(3), target].all()
    # mining adds the most similar other key as a second positive
    _, _, mined = contrast(q, k, None, 0.5, mining_topk=1)
    assert mined.sum() == 6 and mined[torch.arange(3), target].all()


def test_queue_contrast_equals_previous_loss():
    from skelzoo.contrastive import info_nce
    q, k, queue = _unit(4, 8, seed=3), _unit(4, 8, seed=4), _unit(8, 6, seed=5)
    loss, _, _ = contrast(q, k, queue, 0.07)
    assert float(loss) == pytest.approx(float(info_nce(q, k, queue, 0.07)), rel=1e-6)


def test_batch_loss_does_not_depend_on_the_queue():
    torch.manual_seed(0)
    m = SkeletonCLR("stgcn_ssl", backbone_args=TINY, queue_size=8, negatives="batch")
    x = torch.randn(4, 3, 16, 25, 1)
    m.train(False)  # eval-mode BN: the two calls see the same statistics
    state = {k: v.clone() for k, v in m.state_dict().items()}
    a = m(x, x * 0.9)["loss"].detach()
    m.load_state_dict(state)
    m.queue.queue.copy_(F.normalize(torch.randn(m.queue.dim, 8), dim=0))
    b = m(x, x * 0.9)["loss"].detach()
    assert float(a) == pytest.approx(float(b), rel=1e-6)
    assert int(m.queue.ptr) == 4  # still filled (diagnostics read it)


def test_symmetric_averages_both_directions():
    torch.manual_seed(0)
    m = SnipCLR("stgcn_ssl", backbone_args=TINY, queue_size=8, num_snippets=4, negatives="batch",
                snippet_negatives="batch", symmetric=True, momentum=1.0)
    x = torch.randn(3, 3, 16, 25, 1)
    y = x.flip(2)
    torch.manual_seed(1)  # the backbone has dropout: same random stream for both computations
    out = m(x, y)
    assert torch.isfinite(out["loss"]) and out["loss"].requires_grad
    # momentum 1: the key encoder stays at its copy; recompute both directions by hand
    m2 = SnipCLR("stgcn_ssl", backbone_args=TINY, queue_size=8, num_snippets=4, negatives="batch",
                 snippet_negatives="batch", momentum=1.0)
    m2.load_state_dict(m.state_dict())
    torch.manual_seed(1)
    both_q = m2.encoder_q(torch.cat([x, y]))
    with torch.no_grad():
        both_k = m2.encoder_k(torch.cat([y, x]))
    halves = [({k: v[:3] for k, v in both_q.items()}, {k: v[:3] for k, v in both_k.items()}),
              ({k: v[3:] for k, v in both_q.items()}, {k: v[3:] for k, v in both_k.items()})]
    losses = [m2.compute_losses(a, b, None, 1)["loss"] for a, b in halves]
    assert float(out["loss"].detach()) == pytest.approx(float((losses[0] + losses[1]).detach() / 2), rel=1e-5)
    with pytest.raises(ValueError, match="symmetric"):
        SkeletonCLR("stgcn_ssl", backbone_args=TINY, symmetric=True, relative_tempo=True)
    with pytest.raises(ValueError, match="negatives"):
        SkeletonCLR("stgcn_ssl", backbone_args=TINY, negatives="memory")


# ---------------------------------------------------------------------------------------------- snippets
def test_cosine_matching_ignores_feature_norm():
    # key snippet 2 has a huge norm: raw dot products send every query snippet to it (a "hub")
    f_q = torch.eye(4)[None]                     # (1, D=4, S=4): snippet i = e_i
    f_k = torch.eye(4)[None].clone()
    f_k[0, :, 2] = torch.tensor([3.0, 3.0, 10.0, 3.0])
    hub = snippet_correspondence(f_q, f_k, "argmax")
    assert hub.tolist() == [[2, 2, 2, 2]]
    assert snippet_correspondence(f_q, f_k, "cosine").tolist() == [[0, 1, 2, 3]]
    with pytest.raises(ValueError, match="match"):
        snippet_correspondence(f_q, f_k, "nearest")


def test_snippet_batch_logits_mask_own_video():
    b, c, s = 3, 5, 4
    d_q, d_k = _unit(b, c, s, seed=1), _unit(b, c, s, seed=2)
    match = torch.tensor([[0, 1, 2, 3]] * b)
    logits = snippet_batch_logits(d_q, d_k, match, temperature=0.5)
    assert logits.shape == (b, s, 1 + b * s)
    for i in range(b):
        own = logits[i, :, 1 + i * s:1 + (i + 1) * s]
        assert torch.isinf(own).all() and (own < 0).all()
        other = 1 + ((i + 1) % b) * s
        assert torch.allclose(logits[i, :, other], (d_q[i].t() @ d_k[(i + 1) % b][:, 0]) / 0.5, atol=1e-6)
        assert torch.allclose(logits[i, :, 0], (d_q[i] * d_k[i]).sum(0) / 0.5, atol=1e-6)
    loss = snippet_nce(d_q, d_k, None, match, 0.5)
    ref = F.cross_entropy(logits.reshape(b * s, -1), torch.zeros(b * s, dtype=torch.long))
    assert float(loss) == pytest.approx(float(ref), rel=1e-6)


def test_snipclr_batch_negatives_train_step():
    torch.manual_seed(0)
    m = SnipCLR("stgcn_ssl", backbone_args=TINY, queue_size=8, num_snippets=4, negatives="batch",
                snippet_negatives="batch", snippet_match="cosine")
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    x = torch.randn(4, 3, 16, 25, 1)
    out = m(x, x + 0.01 * torch.randn_like(x))
    out["loss"].backward()
    opt.step()
    assert set(out) >= {"loss", "loss_instance", "loss_snippet", "acc_instance"}
    # chance level of both terms at the start: log(B) and log(1 + (B - 1) S)
    assert float(out["loss_instance"].detach()) == pytest.approx(math.log(4), abs=0.3)
    assert float(out["loss_snippet"].detach()) == pytest.approx(math.log(1 + 3 * 4), abs=0.6)


# ---------------------------------------------------------------------------------------------- diagnostics
def test_queue_ages():
    # K=8, B=2, pointer 4: columns 2, 3 were written last (age 1), 0, 1 before (age 2), 6, 7 (age 3) ...
    assert _queue_ages(4, 8, 2).tolist() == [2, 2, 1, 1, 4, 4, 3, 3]


def test_diagnostics_detect_a_fresh_key_shortcut():
    torch.manual_seed(0)
    m = SnipCLR("stgcn_ssl", backbone_args=TINY, queue_size=8, num_snippets=4, momentum=0.5)
    x = torch.randn(4, 3, 16, 25, 1)
    m(x, x)  # fill half of the queue
    prof = key_age_profile(m, x, batch=4)
    assert set(prof) == {1, 2}
    fresh = freshness_test(m, x, x, updates=(0, 2))
    assert set(fresh) == {0, 2} and all(0 <= v <= 1 for v in fresh.values())
    assert m.queue.ptr.item() == 4  # unchanged
    long = torch.randn(3, 3, 24, 25, 1)
    r = snippet_matching(m, long[:, :, :16], long[:, :, 8:], shift=8, match="cosine")
    assert 0 <= r["exact"] <= r["within1"] <= 1 and 1 <= r["distinct"] <= 4
    assert 0 < r["chance_within1"] < 1


def test_snippet_matching_is_perfect_for_an_identity_encoder():
    class Ident(torch.nn.Module):
        def forward(self, x):  # features that identify each frame: its coordinates
            return {"snippet_features": F.adaptive_avg_pool1d(x.mean(dim=(3, 4)), 4)}

    class Fake(torch.nn.Module):
        snippet_match = "cosine"

        def __init__(self):
            super().__init__()
            self.encoder_q = Ident()
            self.encoder_q.dense = type("D", (), {"num_snippets": 4})()
            self.encoder_k = Ident()

    t = torch.arange(24, dtype=torch.float32)
    x = torch.stack([torch.cos(t / 3), torch.sin(t / 3), torch.cos(t / 7)])[None, :, :, None, None]
    x = x.expand(1, 3, 24, 2, 1)
    r = snippet_matching(Fake(), x[:, :, :16], x[:, :, 8:], shift=8)
    assert r["exact"] == 1.0 and r["within1"] == 1.0 and r["distinct"] >= 3  # 2 snippets have no partner


# ---------------------------------------------------------------------------------------------- probes
def test_knn_and_linear_probe_on_separable_features():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=g) * 5
    y = torch.arange(60) % 3
    x = centres[y] + 0.3 * torch.randn(60, 8, generator=g)
    r = knn_probe(x[:30], y[:30], x[30:], y[30:], k=1)
    assert r.accuracy == 1.0 and r.per_class == {0: 1.0, 1: 1.0, 2: 1.0}
    assert knn_probe(x[:30], y[:30], x[30:], y[30:], k=5).accuracy == 1.0
    assert linear_probe(x[:30], y[:30], x[30:], y[30:], epochs=100).accuracy == 1.0
    # random labels: about chance
    noise = torch.randn(300, 8, generator=g)
    yr = torch.randint(0, 3, (300,), generator=g)
    assert knn_probe(noise[:150], yr[:150], noise[150:], yr[150:]).accuracy < 0.55


# ---------------------------------------------------------------------------------------------- scale
def test_scale_augmentation_and_body_size():
    x = torch.ones(4, 3, 8, 25, 1)
    g = torch.Generator().manual_seed(0)
    y = A.scale(x, (0.5, 2.0), generator=g)
    f = y[:, 0, 0, 0, 0]
    assert ((f >= 0.5) & (f <= 2.0)).all() and torch.allclose(y, f.view(4, 1, 1, 1, 1).expand_as(y))
    cfg = A.AugmentConfig(scale_range=(0.9, 1.1))
    assert cfg.scale_range == (0.9, 1.1)
    with pytest.raises(ValueError, match="scale_range"):
        A.AugmentConfig(scale_range=(1.2, 1.1))
    # off by default: the random stream of the first recipe is unchanged
    assert A.AugmentConfig().scale_range == (1.0, 1.0)

    rng = np.random.default_rng(0)
    seq = rng.normal(size=(10, 1, 25, 3)).astype(np.float32)
    seq[:, :, 20] = seq[:, :, 0] + np.array([0.0, 0.0, 0.3], np.float32)  # torso 0.3
    assert T.torso_length(seq) == pytest.approx(0.3, rel=1e-5)
    out = T.normalise_body_size(seq)
    assert T.torso_length(out) == pytest.approx(T.BODY_SIZE_TARGET, rel=1e-5)
    assert np.allclose(out, seq * (T.BODY_SIZE_TARGET / 0.3), atol=1e-6)
    big = T.normalise_body_size(seq * 1.6)  # a larger body / another sensor's proportions: same result
    assert np.allclose(big, out, atol=1e-5)
    empty = np.zeros((5, 1, 25, 3), np.float32)
    assert T.normalise_body_size(empty) is empty


def test_body_size_preprocess_is_applied_at_inference():
    import skelzoo
    from skelzoo.io.sequence import SkeletonSequence
    from skelzoo.localization.pipeline import prepare_input

    model = skelzoo.load_model("stgcn_ssl", num_classes=0)
    rng = np.random.default_rng(1)
    data = rng.normal(size=(12, 1, 25, 3)).astype(np.float32)
    seq = SkeletonSequence(data=data, layout="ntu25", fps=30.0)
    model.preprocess = "ntu"
    a = prepare_input(seq, model)
    model.preprocess = "ntu_bodysize"
    b = prepare_input(seq, model)
    c = prepare_input(SkeletonSequence(data=data * 2.0, layout="ntu25", fps=30.0), model)
    ratio = T.BODY_SIZE_TARGET / T.torso_length(a[0].permute(1, 3, 2, 0).numpy())
    assert torch.allclose(b, a * ratio, atol=1e-5)
    assert torch.allclose(b, c, atol=1e-5)


def test_2d_views_leave_the_score_channel_and_missing_points_alone():
    """``coord_channels=2`` (x, y, score): shear / scale / noise / blur / axis mask act on x, y only; the
    score is only cropped (and permuted by a flip); points with score 0 keep coordinates 0."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 40, 17, 1, generator=g)
    score = torch.rand(4, 1, 40, 17, 1, generator=g)
    score[score < 0.2] = 0.0
    x = torch.cat([x[:, :2] * (score != 0), score], dim=1)
    cfg = A.AugmentConfig(temporal_padding_ratio=0, scale_range=(0.8, 1.25), noise_p=1.0, blur_p=1.0,
                          axis_mask_p=0.0, coord_channels=2)
    y = A.augment_view(x, cfg, strong=True, layout="coco17", generator=torch.Generator().manual_seed(1))
    assert torch.equal(y[:, 2], x[:, 2])                      # scores untouched (no crop, no flip)
    assert bool((y[:, :2][(x[:, 2:] == 0).expand(-1, 2, -1, -1, -1)] == 0).all())
    assert not torch.allclose(y[:, :2], x[:, :2])              # the coordinates did change
    # without coord_channels the shear mixes the score into x, y (what 2-D training must not do)
    z = A.augment_view(x, A.AugmentConfig(temporal_padding_ratio=0, noise_p=0.0, blur_p=0.0, axis_mask_p=0.0),
                       strong=True, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(z[:, 2], x[:, 2])
    # a flip permutes the scores with their joints
    f = A.augment_view(x, A.AugmentConfig(temporal_padding_ratio=0, shear_amplitude=0.0, noise_p=0.0, blur_p=0.0,
                                          axis_mask_p=0.0, flip_p=1.0, coord_channels=2),
                       strong=True, layout="coco17", generator=torch.Generator().manual_seed(2))
    perm = torch.tensor(get_layout("coco17").flip_permutation())
    assert torch.equal(f[:, 2], x[:, 2].index_select(2, perm))
    assert torch.equal(f[:, 0], -x[:, 0].index_select(2, perm))


def test_body_size_warning_for_weights_that_do_not_rescale(tmp_path):
    """Weights trained with preprocessing ``ntu`` carry their training torso; an input body far from it warns
    (also after save/load); at the training size, or with ``ntu_bodysize``, nothing is said."""
    import warnings

    import skelzoo
    from skelzoo.data.synth import example_sequence
    from skelzoo.errors import InputWarning

    m = skelzoo.load_model("stgcn_ssl", num_person=1)
    m.preprocess = "ntu"
    m.skelzoo_config["torso"] = 0.25
    seq, _ = example_sequence()  # torso 0.5
    with pytest.warns(InputWarning, match=r"body size: the torso measures 0\.5.*0\.25 \(2x\)"):
        p = skelzoo.prepare(seq, m)
    assert any("body size" in q for q in p.problems)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        skelzoo.prepare(seq.replace(data=seq.data * 0.5), m)      # the training size
        m.preprocess = "ntu_bodysize"
        skelzoo.prepare(seq, m)                                   # rescaled anyway
    m.preprocess = "ntu"
    skelzoo.save_pretrained(m, tmp_path / "m")
    back = skelzoo.load_model(f"local-dir:{tmp_path / 'm'}")
    assert back.input_spec.torso == 0.25
    assert skelzoo.load_model("agcn_loc_ufusion.bandai_w32").input_spec.torso == pytest.approx(0.247)
