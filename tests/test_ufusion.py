"""U-fusion neck (SnipCLR NestedUNet): parameter count, resampling rule, windowed evaluation, tap rule."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from skelzoo.localization.localizer import select_taps
from skelzoo.necks import UFusionNeck, nearest_index, pool_joints_persons, resample_nearest


def _info(reds, chs=None):
    chs = chs or [64] * len(reds)
    return [{"num_chs": c, "reduction": r, "module": f"stages.{i}", "index": i} for i, (c, r) in enumerate(zip(chs, reds))]


def test_paper_parameter_count():
    neck = UFusionNeck((64, 128, 256), 512)
    assert sum(p.numel() for p in neck.parameters()) == 2_244_672
    assert sum(p.numel() for p in neck.conv0_1.parameters()) == 111_168
    assert sum(p.numel() for p in neck.conv1_1.parameters()) == 443_520
    assert sum(p.numel() for p in neck.conv0_2.parameters()) == 1_230_720
    assert sum(p.numel() for p in neck.final.parameters()) == 459_264
    keys = set(neck.state_dict())
    assert "conv0_1.conv.0.weight" in keys and "conv0_2.conv.1.running_var" in keys and "final.bias" in keys


@pytest.mark.parametrize("l_in,l_out", [(13, 100), (25, 100), (5, 37), (7, 7), (38, 150), (100, 13)])
def test_nearest_rule_matches_interpolate(l_in, l_out):
    x = torch.randn(2, 3, l_in)
    y = resample_nearest(x, l_out)
    torch.testing.assert_close(y, F.interpolate(x, size=l_out, mode="nearest"), rtol=0, atol=0)
    idx = nearest_index(l_in, l_out)
    assert idx.tolist() == [i * l_in // l_out for i in range(l_out)]


@pytest.mark.parametrize("t", [100, 37, 1, 64])
def test_shapes_odd_lengths(t):
    neck = UFusionNeck((8, 16, 32), 24).eval()
    t4, t8 = -(-(-(-t // 2)) // 2), -(-(-(-(-(-t // 2)) // 2)) // 2)
    taps = [torch.randn(2, 8, t), torch.randn(2, 16, t4), torch.randn(2, 32, t8)]
    assert neck(taps).shape == (2, 24, t)


def test_five_d_taps_are_pooled_over_joints_and_persons():
    neck = UFusionNeck((8, 16, 32), 24).eval()
    taps5 = [torch.randn(2, 8, 20, 5, 2), torch.randn(2, 16, 5, 5, 2), torch.randn(2, 32, 3, 5, 2)]
    pooled = [t.mean(3).mean(-1) for t in taps5]
    torch.testing.assert_close(neck(taps5), neck(pooled))
    torch.testing.assert_close(pool_joints_persons(taps5[0]), pooled[0])


def test_downsampled_first_tap_is_resampled_to_t():
    neck = UFusionNeck((8, 16, 32), 24, reductions=(2, 4, 8)).eval()
    taps = [torch.randn(1, 8, 26), torch.randn(1, 16, 13), torch.randn(1, 32, 7)]
    out = neck(taps, out_len=51)
    assert out.shape == (1, 24, 51)
    torch.testing.assert_close(out, F.interpolate(neck(taps), size=51, mode="nearest"))


@pytest.mark.parametrize("out_len", [203, 101])
def test_forward_window_equals_whole(out_len):
    torch.manual_seed(0)
    neck = UFusionNeck((8, 16, 32), 24, reductions=(1, 4, 8)).eval()
    for m in neck.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2)
    t0 = out_len if out_len == 203 else 51  # second case: first tap downsampled
    taps = [torch.randn(2, 8, t0), torch.randn(2, 16, -(-t0 // 4)), torch.randn(2, 32, -(-t0 // 8))]
    with torch.no_grad():
        whole = neck(taps, out_len)
        for s, e in [(0, 17), (17, 64), (64, 100), (100, out_len), (0, out_len)]:
            torch.testing.assert_close(neck.forward_window(taps, s, e, out_len), whole[..., s:e], rtol=0, atol=1e-6)


def test_tap_rule():
    # SnipCLR AGCN-10 (strides at l2, l5, l8): l1, l7, l10
    assert select_taps(_info([1, 2, 2, 2, 4, 4, 4, 8, 8, 8])) == (0, 6, 9)
    # 2s-AGCN / ST-GCN / CTR-GCN schedule: l4, l7, l10
    assert select_taps(_info([1, 1, 1, 1, 2, 2, 2, 4, 4, 4])) == (3, 6, 9)
    # MS-G3D: three stages
    assert select_taps(_info([1, 2, 4])) == (0, 1, 2)
    # fewer than three reductions
    assert select_taps(_info([1, 1, 1, 2, 2, 2])) == (2, 3, 5)
    assert select_taps(_info([1, 1, 2])) == (0, 1, 2)
    assert select_taps(_info([1, 1, 1, 1])) == (1, 2, 3)
    with pytest.raises(ValueError):
        select_taps(_info([1, 2]))
