"""Distributed data parallel on CPU (gloo, 2 processes): ranks stay in sync (parameters and MoCo queues)."""
from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

TINY = {"num_person": 1, "hidden_channels": 4, "hidden_dim": 16}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data_dir: str, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from skelzoo.training.pretrain import PretrainConfig, pretrain
    from skelzoo.training.trainer import load_config

    seen: dict[str, torch.Tensor] = {}
    from skelzoo.training.trainer import Trainer

    orig = Trainer.fit

    def fit(self):  # keep every rank's final state for the comparison
        out = orig.__get__(self)()
        seen.update({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        return out

    Trainer.fit = fit  # type: ignore[method-assign]
    cfg = load_config(PretrainConfig, None, [
        f"run.output_dir={out_dir}/run", "run.epochs=2", "run.batch_size=2", "run.progress=false", "run.plot=false",
        "run.max_steps_per_epoch=2", "run.device=cpu", f"data.root={data_dir}", "data.clip_frames=24",
        "data.view_frames=12", "model.backbone=stgcn_ssl",
        "model.backbone_args={num_person: 1, hidden_channels: 4, hidden_dim: 16}", "model.queue_size=6",
        "model.num_snippets=4", "optim.warmup_epochs=0"])
    summary = pretrain(cfg)
    assert not dist.is_initialized()  # the entry point created and destroyed the group
    torch.save({"state": seen, "summary_epochs": summary["epochs_done"]}, f"{out_dir}/rank{rank}.pt")


@pytest.mark.slow  # nightly: a long end-to-end run
def test_ddp_two_processes_stay_in_sync(tmp_path):
    if not dist.is_available():
        pytest.skip("torch.distributed not available")
    from skelzoo.training._data import synthetic_prepared

    data = synthetic_prepared(tmp_path / "data", splits={"train": 8}, seconds=3.0, seed=1)
    mp.start_processes(_worker, args=(2, _free_port(), str(data), str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["summary_epochs"] == r1["summary_epochs"] == 2
    s0, s1 = r0["state"], r1["state"]
    assert s0.keys() == s1.keys()
    params = [k for k in s0 if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    for k in params:  # query/key encoders, heads, both queues and their pointers
        assert torch.allclose(s0[k], s1[k], atol=1e-6, rtol=0), k
    # 2 epochs x 2 steps x 2 ranks x batch 2 = 16 keys through a queue of 6: the pointer wrapped around
    assert int(s0["queue.ptr"]) == 16 % 6 and int(s0["snippet_queue.ptr"]) == 16 % 6
    # the ranks saw different data: the encoders moved away from a common init
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "encoder" / "config.json").is_file()
