"""``skelzoo.cached_weights``: derived inference weights reused between calls, never stale, never in training."""
from __future__ import annotations

import copy
import io

import pytest
import torch
from test_fast_paths import CASES, _input, _model

import skelzoo
from skelzoo.blocks import derived as derived_mod
from skelzoo.blocks.channels_last import fold_into
from skelzoo.models.ctrgcn import CTRGCUnit

_ATTR = derived_mod._ATTR


@pytest.mark.parametrize("arch,kw", CASES, ids=[c[0] for c in CASES])
def test_cached_calls_give_the_uncached_bits(arch, kw):
    model = _model(arch, kw).eval()
    x = _input(model)
    with torch.inference_mode():
        ref = model(x)
        with skelzoo.cached_weights(model):
            first, second = model(x), model(x)
        with torch.no_grad(), skelzoo.cached_weights(model):
            third = model(x)
    assert torch.equal(first, ref) and torch.equal(second, ref) and torch.equal(third, ref)


def _count_derivations(monkeypatch) -> list[int]:
    calls = [0]
    orig = CTRGCUnit._fast_weights

    def counting(self, *a):
        calls[0] += 1
        return orig(self, *a)
    monkeypatch.setattr(CTRGCUnit, "_fast_weights", counting)
    return calls


def test_derivations_run_once_per_block(monkeypatch):
    model = _model("ctrgcn", {"base_channels": 8}).eval()
    x = _input(model)
    units = sum(isinstance(m, CTRGCUnit) for m in model.modules())
    calls = _count_derivations(monkeypatch)
    with torch.inference_mode():
        model(x)
        model(x)
        assert calls[0] == 2 * units  # no block: derived at every call
        calls[0] = 0
        with skelzoo.cached_weights(model):
            for _ in range(3):
                model(x)
        assert calls[0] == units
        calls[0] = 0
        model(x)  # the block is closed again: the cache is gone from every module
        assert calls[0] == units
    assert not any(_ATTR in m.__dict__ for m in model.modules())


def test_tracked_weight_changes_inside_the_block_are_picked_up():
    model = _model("ctrgcn", {"base_channels": 8}).eval()
    fresh = copy.deepcopy(model)
    x = _input(model)
    unit = model.stages[1].gcn
    with skelzoo.cached_weights(model):
        with torch.inference_mode():
            before = model(x)
            assert torch.equal(model(x), before)
        with torch.no_grad():  # an optimizer-like in-place update, and a BN statistic
            unit.convs[0].conv3.weight.mul_(1.5)
            unit.alpha.add_(0.2)
            model.stages[2].tcn.branches[0][1].running_var.mul_(2.0)
        with torch.inference_mode():
            after = model(x)
        fresh.load_state_dict(model.state_dict())
        with torch.inference_mode():
            assert torch.equal(after, fresh(x))
        assert not torch.equal(after, before)
        # load_state_dict inside the block (copy_ into the parameters) is seen too
        model.load_state_dict(_model("ctrgcn", {"base_channels": 8}).state_dict())
        with torch.inference_mode():
            assert torch.equal(model(x), before)


def test_training_inside_the_block_derives_afresh_and_gets_gradients():
    model = _model("ctrgcn", {"base_channels": 8})
    x = _input(model)
    with skelzoo.cached_weights(model):
        model.eval()
        with torch.inference_mode():
            model(x)
        model.train()
        out = model(x)  # grad mode: never the cache (and training-mode BNs do not fold)
        out.sum().backward()
        assert model.stages[0].gcn.convs[0].conv3.weight.grad is not None
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        opt.step()
        model.eval()
        with torch.inference_mode():
            after = model(x)
    ref = copy.deepcopy(model)
    with torch.inference_mode():
        assert torch.equal(after, ref(x))


def test_train_mode_batchnorm_is_not_served_from_the_eval_cache():
    model = _model("ctrgcn", {"base_channels": 8}).eval()
    x = _input(model)
    with skelzoo.cached_weights(model), torch.no_grad():
        model(x)
        model.train()  # no_grad + training BNs: batch statistics, as without the block
        got = model(x)
    ref = _model("ctrgcn", {"base_channels": 8}).train()
    with torch.no_grad():
        assert torch.equal(got, ref(x))


def test_nested_blocks_share_one_cache_dropped_by_the_outermost():
    model = _model("stgcn", {"base_channels": 8}).eval()
    with skelzoo.cached_weights(model) as m:
        assert m is model
        store = model.__dict__[_ATTR]
        with skelzoo.cached_weights(model):
            assert model.__dict__[_ATTR] is store
        assert model.__dict__[_ATTR] is store
    assert _ATTR not in model.__dict__


def test_copies_made_inside_the_block_have_no_cache():
    model = _model("ctrgcn", {"base_channels": 8}).eval()
    x = _input(model)
    with skelzoo.cached_weights(model):
        with torch.inference_mode():
            model(x)
        clone = copy.deepcopy(model)
        buf = io.BytesIO()
        torch.save(model, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    for other in (clone, loaded):
        assert all(m.__dict__.get(_ATTR) is None for m in other.modules())
    assert len(model.state_dict()) == len(clone.state_dict())


def test_fold_into_never_caches_a_tensor_computed_per_call():
    bn = torch.nn.BatchNorm1d(4).eval()
    w = torch.randn(4, 3)  # not a parameter: its address and version say nothing about its contents
    with skelzoo.cached_weights(bn), torch.no_grad():
        a, _, _ = fold_into(w, None, bn)
        w.data.copy_(torch.randn(4, 3))  # untracked edit, same address, same version
        b, _, _ = fold_into(w, None, bn)
        assert torch.equal(b, fold_into(w, None, torch.nn.BatchNorm1d(4).eval())[0])
        assert not torch.equal(a, b)
        p = torch.nn.Parameter(torch.randn(4, 3))
        c, _, _ = fold_into(p, None, bn)
        assert fold_into(p, None, bn)[0] is c  # a parameter's fold is kept


def test_rejects_non_modules():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        with skelzoo.cached_weights(torch.randn(2)):
            pass


def test_localizer_frame_logits_and_chunked_inference_inside_the_block():
    from skelzoo.localization.chunked import chunked_forward
    from skelzoo.models import DEFAULT_LOCALIZER

    loc = skelzoo.load_model(DEFAULT_LOCALIZER, pretrained=True).eval()  # bundled: offline
    torch.manual_seed(0)
    x = torch.randn(1, loc.in_channels, 96, loc.num_joints, loc.num_person or 1)
    with torch.inference_mode():
        ref = loc(x)
        ref_chunked = chunked_forward(loc, x, chunk=32)
        with skelzoo.cached_weights(loc):
            assert torch.equal(loc(x), ref) and torch.equal(loc(x), ref)
            assert torch.equal(chunked_forward(loc, x, chunk=32), ref_chunked)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit.trace:DeprecationWarning")
def test_compiled_and_traced_calls_derive_from_the_parameters():
    torch._dynamo.reset()
    model = _model("stgcn", {"base_channels": 8}).eval()
    x = _input(model)
    with skelzoo.cached_weights(model), torch.no_grad():
        compiled = torch.compile(model, backend="eager")
        ref = model(x)
        store_sizes = [len(m.__dict__[_ATTR]) for m in model.modules()]
        # compiled and traced graphs take the standard ops (skelzoo.blocks.gemm): equal to float32 rounding
        assert torch.allclose(compiled(x), ref, rtol=1e-5, atol=1e-5)
        assert [len(m.__dict__[_ATTR]) for m in model.modules()] == store_sizes  # nothing cached when compiled
        traced = torch.jit.trace(model, x, check_trace=False)
        assert [len(m.__dict__[_ATTR]) for m in model.modules()] == store_sizes  # nothing cached while tracing
        for p in model.parameters():  # a traced graph that baked cached weights in would not see this
            p.mul_(1.25)
        after = model(x)
        assert not torch.equal(after, ref)
        assert torch.allclose(traced(x), after, rtol=1e-5, atol=1e-5)
    torch._dynamo.reset()
