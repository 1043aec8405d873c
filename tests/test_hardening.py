"""Regression tests of issue #16 (hardening), one block per numbered finding, through the CLI where a
user meets it (exit 2, one line on stderr). All inputs are synthesised here."""
from __future__ import annotations

import collections
import json
import math
import os
import subprocess
import sys
import threading
import tracemalloc
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from _io_fixtures import bvh_text, kinect_csv_text, pkummd_text

import skelzoo
from skelzoo.cli.main import main
from skelzoo.errors import CheckpointError, ChecksumError, FormatError, WeightsError
from skelzoo.hub.cache import download_url, sha256_file
from skelzoo.hub.safe_load import load_torch_checkpoint
from skelzoo.io import babel_frame_labels, read_babel, read_skeleton

REPO = Path(__file__).resolve().parents[1]


def _cli_error(capsys: pytest.CaptureFixture, *argv: str) -> str:
    """Run the CLI in-process; assert exit 2 with a one-line message; return it."""
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# =============================================================== 1. poisoned cache (unhashed URLs)
class _Flaky:
    """A tiny HTTP server whose one file can be served whole, cut short without Content-Length,
    corrupted with the right length, or replaced."""

    def __init__(self, body: bytes) -> None:
        self.body, self.mode, self.gets = body, "ok", 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                owner.gets += 1
                body = owner.body
                self.send_response(200)
                if owner.mode == "short_no_length":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                if owner.mode == "corrupt":
                    body = body[:-200] + bytes(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/pyskl/stgcn_pyskl_ntu60/j.pth"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _checkpoint_bytes(tmp: Path, seed: int) -> bytes:
    g = torch.Generator().manual_seed(seed)
    p = tmp / f"ck{seed}.pth"
    torch.save({"state_dict": {"w": torch.randn(64, 64, generator=g)}}, p)
    return p.read_bytes()


def _validate(path: Path) -> None:
    from skelzoo.hub.safe_load import check_zip_integrity
    check_zip_integrity(path)
    load_torch_checkpoint(path)


@pytest.fixture
def flaky(tmp_path: Path):
    srv = _Flaky(_checkpoint_bytes(tmp_path, 0))
    yield srv
    srv.stop()


pytestmark = pytest.mark.usefixtures("online_home")  # downloads allowed, into a fresh SKELZOO_HOME


@pytest.mark.parametrize("mode", ["short_no_length", "corrupt"])
def test_broken_unhashed_download_is_never_cached(flaky: _Flaky, tmp_path: Path, mode: str) -> None:
    flaky.mode = mode
    cache = tmp_path / "cache"
    with pytest.raises((WeightsError, CheckpointError), match="nothing was cached"):
        download_url(flaky.url, cache_dir=cache, progress=False, validate=_validate)
    assert not [p for p in cache.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    flaky.mode = "ok"  # the server is healthy again: the next call downloads and works
    path = download_url(flaky.url, cache_dir=cache, progress=False, validate=_validate)
    assert load_torch_checkpoint(path)["state_dict"]["w"].shape == (64, 64)


def test_first_use_hash_is_recorded_and_enforced(flaky: _Flaky, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = download_url(flaky.url, cache_dir=cache, progress=False, validate=_validate)
    record = path.with_name(f".{path.name}.sha256")
    assert record.read_text().strip() == sha256_file(path)
    # a different valid checkpoint at the same URL is refused on the next download ...
    flaky.body = _checkpoint_bytes(tmp_path, 1)
    path.unlink()
    with pytest.raises(ChecksumError, match="recorded when it was first downloaded"):
        download_url(flaky.url, cache_dir=cache, progress=False, validate=_validate)
    assert not path.exists()
    # ... and a cached file swapped behind our back is named for deletion
    path.write_bytes(flaky.body)
    with pytest.raises(ChecksumError, match=f"Delete {path}"):
        download_url(flaky.url, cache_dir=cache, progress=False, validate=_validate)


def test_legacy_poisoned_cached_file_names_the_file_to_delete(flaky: _Flaky, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    from skelzoo.hub.cache import url_cache_path
    target = url_cache_path(flaky.url, cache_dir=cache)
    target.parent.mkdir(parents=True)
    target.write_bytes(flaky.body[: len(flaky.body) // 2])  # cached by an older skelzoo, no record
    with pytest.raises(WeightsError, match=f"Delete {target}"):
        download_url(flaky.url, cache_dir=cache, progress=False, validate=_validate)


def test_registry_url_weights_validate_before_caching(flaky: _Flaky, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The load_model path of the `*.pyskl_*` tags: a cut-short download is not cached, a healthy one converts."""
    import dataclasses

    from skelzoo.models import _builder as api
    from skelzoo.models import get_converter, get_entry, to_source_state_dict

    entry = get_entry("stgcn")
    tag, w = next((t, w) for t, w in entry.weights.items() if w.url and w.sha256 is None)
    model = skelzoo.load_model("stgcn", **dict(w.model_args))
    sd = to_source_state_dict(model, get_converter("stgcn", w.convert_source))
    (tmp_path / "orig.pth").unlink(missing_ok=True)
    torch.save({"state_dict": sd}, tmp_path / "orig.pth")
    flaky.body = (tmp_path / "orig.pth").read_bytes()
    w2 = dataclasses.replace(w, url=flaky.url, hash_prefix=None)
    flaky.mode = "short_no_length"
    with pytest.raises((WeightsError, CheckpointError), match="nothing was cached"):
        api.converted_url_weights("stgcn", w2)
    flaky.mode = "ok"
    state = api.converted_url_weights("stgcn", w2)
    for k, v in model.state_dict().items():
        assert torch.equal(state[k], v), k


# =============================================================== 2. frame rates
def test_bvh_frame_time_1000_is_a_format_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = tmp_path / "slow.bvh"
    p.write_text(bvh_text([[0.0] * 15] * 4, frame_time=1000))
    err = _cli_error(capsys, "localize", str(p))
    assert str(p) in err and "Frame Time" in err and "line" in err


@pytest.mark.parametrize("fps", ["0.001", "inf", "nan", "-5"])
def test_cli_fps_must_be_plausible(tmp_path: Path, capsys: pytest.CaptureFixture, fps: str) -> None:
    p = tmp_path / "a.txt"
    p.write_text(pkummd_text(40))
    assert "--fps" in _cli_error(capsys, "localize", str(p), f"--fps={fps}")


def test_cli_model_fps_must_be_plausible(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = tmp_path / "a.txt"
    p.write_text(pkummd_text(40))
    assert "--model-fps" in _cli_error(capsys, "extract", str(p), "--model-fps=1e6", "--out", str(tmp_path / "f.npz"))


@pytest.mark.parametrize("step_s", [100.0, 1000.0])
def test_kinect_timestamps_far_apart(tmp_path: Path, capsys: pytest.CaptureFixture, step_s: float) -> None:
    lines = kinect_csv_text(4).splitlines()
    lines = [f"{int(k * step_s * 1e7)}," + ln.split(",", 1)[1] for k, ln in enumerate(lines)]
    p = tmp_path / "k.csv"
    p.write_text("\n".join(lines) + "\n")
    err = _cli_error(capsys, "localize", str(p))
    assert str(p) in err and "frame rate" in err


# =============================================================== 3. allocations bounded by the file
def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    except FormatError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_bvh_many_channelless_joints(tmp_path: Path) -> None:
    n = 4000
    head = "HIERARCHY\nROOT R\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
    head += "".join(f"JOINT J{i}\n{{\n OFFSET 0 1 0\n" for i in range(n)) + "End Site\n{\n OFFSET 0 1 0\n}\n"
    head += "}\n" * n + "}\nMOTION\nFrames: 2000\nFrame Time: 0.0333333\n" + "0 0 0 0 0 0\n" * 2000
    p = tmp_path / "deep.bvh"
    p.write_text(head)
    with pytest.raises(FormatError, match="implausible"):
        read_skeleton(p)
    assert _peak(lambda: read_skeleton(p)) < 64 * p.stat().st_size + (64 << 20)


def test_coco_json_many_persons_and_empty_frames(tmp_path: Path) -> None:
    frame0 = [{"keypoints": [1.0, 2.0, 0.5] * 17, "track_id": i} for i in range(1000)]
    p = tmp_path / "pose.json"
    p.write_text(json.dumps([frame0] + [[]] * 20000))
    with pytest.raises(FormatError, match="implausible"):
        read_skeleton(p)
    assert _peak(lambda: read_skeleton(p)) < 64 * p.stat().st_size + (64 << 20)


def test_babel_long_duration_labels_are_bounded(tmp_path: Path) -> None:
    doc = {"1": {"dur": 86400, "feat_p": "a", "frame_ann": {"labels": [
        {"act_cat": ["walk"], "start_t": float(i), "end_t": float(i) + 0.5} for i in range(30)]}}}
    p = tmp_path / "b.json"
    p.write_text(json.dumps(doc))
    ann = read_babel(p)["1"]
    tracemalloc.start()
    multi, labels = babel_frame_labels(ann, ["walk", "run"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert multi.shape == (86400 * 30, 2) and labels[:15].tolist() == [0] * 15 and labels[15] == -1
    assert peak < 4 * (multi.nbytes + labels.nbytes) + (32 << 20)


def test_device_and_fifo_and_folder_are_format_errors(tmp_path: Path) -> None:
    zero = tmp_path / "x.skeleton"
    zero.symlink_to("/dev/zero")
    with pytest.raises(FormatError, match="not a regular file"):
        read_skeleton(zero)
    (tmp_path / "d.bvh").mkdir()
    with pytest.raises(FormatError, match="folder"):
        read_skeleton(tmp_path / "d.bvh")
    # a FIFO nobody writes to: must return at once (run in a child so a regression cannot hang the suite)
    fifo = tmp_path / "y.skeleton"
    os.mkfifo(fifo)
    code = ("import sys; from skelzoo.io import read_skeleton\n"
            "from skelzoo.errors import FormatError\n"
            f"try:\n    read_skeleton({str(fifo)!r})\nexcept FormatError as e:\n    print('FE', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.startswith("FE") and str(fifo) in out.stdout, out.stderr


# =============================================================== 4. pipes are read once
def test_pipe_is_detected_and_read_from_the_same_bytes(tmp_path: Path) -> None:
    text = pkummd_text(1040).encode()
    r, w = os.pipe()

    def writer() -> None:
        with os.fdopen(w, "wb") as fh:
            fh.write(text)

    th = threading.Thread(target=writer)
    th.start()
    try:
        seq = read_skeleton(f"/dev/fd/{r}")
    finally:
        th.join()
        os.close(r)
    assert seq.num_frames == 1040


# =============================================================== 5. tracebacks -> clean errors
def _local_dir(tmp_path: Path, **config_changes) -> Path:
    d = tmp_path / "m"
    skelzoo.save_pretrained(skelzoo.load_model("stgcn", num_classes=3), d, model_card=False)
    cfg = json.loads((d / "config.json").read_text())
    for k, v in config_changes.items():
        if v is _DELETE:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    (d / "config.json").write_text(json.dumps(cfg))
    return d


_DELETE = object()


@pytest.mark.parametrize("change", [
    {"architecture": 5}, {"model_args": None}, {"class_names": 5}, {"fps": [30]},
    {"model_args": {"num_classes": 10**12}}, {"class_names": "walkrun"}, {"fps": -5}, {"fps": math.nan},
    {"fps": math.inf}, {"preprocess": "rm -rf"}, {"tag": 3},
])
def test_bad_config_json_is_a_weights_error(tmp_path: Path, change: dict) -> None:
    d = _local_dir(tmp_path, **change)
    with pytest.raises(WeightsError, match="config.json"):
        skelzoo.load_model(f"local-dir:{d}")


def test_config_top_level_list_and_deep_nesting(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    d = _local_dir(tmp_path)
    (d / "config.json").write_text("[1, 2]")
    with pytest.raises(WeightsError, match="top level"):
        skelzoo.load_model(f"local-dir:{d}")
    (d / "config.json").write_text("[" * 100000 + "]" * 100000)
    err = _cli_error(capsys, "localize", "--example", "--model", f"local-dir:{d}")
    assert "config.json" in err


def test_num_classes_too_large(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match="num_classes"):
        skelzoo.load_model("stgcn", num_classes=10**12)


def test_nested_json_in_npz_safetensors_and_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    deep = "[" * 100000 + "]" * 100000
    npz = tmp_path / "a.npz"
    np.savez(npz, data=np.zeros((2, 1, 25, 3), np.float32), layout=np.array("ntu25"), meta_json=np.array(deep))
    with pytest.raises(FormatError, match=str(npz)):
        read_skeleton(npz)
    st = tmp_path / "w.safetensors"
    header = deep.encode()
    st.write_bytes(len(header).to_bytes(8, "little") + header)
    from skelzoo.hub.safe_load import validate_safetensors
    with pytest.raises(CheckpointError, match="nested"):
        validate_safetensors(st)
    gt = tmp_path / "gt.json"
    gt.write_text(deep)
    _cli_error(capsys, "evaluate", str(gt), str(gt))


@pytest.mark.parametrize("kind", ["truncated", "pickled_object"])
def test_resume_from_bad_checkpoint(tmp_path: Path, kind: str) -> None:
    from skelzoo.training.trainer import load_checkpoint
    p = tmp_path / "last.pt"
    if kind == "truncated":
        torch.save({"model": {"w": torch.ones(1000)}}, p)
        p.write_bytes(p.read_bytes()[:500])
    else:
        torch.save({"model": collections.Counter(a=1), "x": _Marker(tmp_path / "pwned")}, p)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(p)
    assert "weights_only=False" not in str(info.value) and str(p) in str(info.value)
    assert not (tmp_path / "pwned").exists()


class _Marker:
    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pkummd_with_1e300(p: Path) -> Path:
    """A 3-frame PKU-MMD file whose first value of frame 1 is ``1e300``."""
    lines = pkummd_text(3).splitlines()
    lines[1] = "1e300 " + lines[1].split(" ", 1)[1]
    p.write_text("\n".join(lines) + "\n")
    return p


# =============================================================== 6. FormatError with the file name
@pytest.mark.parametrize("fmt", ["ntu", "pkummd", "kinect", "coco"])
def test_huge_values_are_format_errors_naming_the_file(tmp_path: Path, fmt: str) -> None:
    if fmt == "pkummd":
        p = _pkummd_with_1e300(tmp_path / "a.txt")
    elif fmt == "kinect":
        p = tmp_path / "a.csv"
        lines = kinect_csv_text(3).splitlines()
        parts = lines[1].split(",")
        parts[1] = "1e300"
        lines[1] = ",".join(parts)
        p.write_text("\n".join(lines) + "\n")
    elif fmt == "coco":
        p = tmp_path / "a.json"
        p.write_text(json.dumps([[{"keypoints": [1.0, 2.0, 1e300] + [1.0, 2.0, 0.5] * 16}]]))
    else:
        p = tmp_path / "a.skeleton"
        _write_ntu(p, xyz="1e300 0 0")
    with pytest.raises(FormatError) as info:
        read_skeleton(p)
    assert str(p) in str(info.value)
    if fmt != "coco":
        assert ", line " in str(info.value)


def _write_ntu(p: Path, *, xyz: str = "0.1 0.2 0.3", state: str = "2") -> None:
    joint = f"{xyz} 200 150 1000 500 0.1 0.2 0.3 0.9 {state}"
    p.write_text("\n".join(["1", "1", "72057594037927936 0 1 1 1 1 0 0.1 -0.2 2", "25"] + [joint] * 25) + "\n")


# =============================================================== 8. weights validated
def _tamper_safetensors(path: Path, dtype: str | None = None, fill_nan: bool = False) -> None:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    name = next(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32" and v["shape"])
    if dtype:
        header[name]["dtype"] = dtype
    if fill_nan:
        b, _ = header[name]["data_offsets"]
        data[b:b + 4] = np.array([np.nan], np.float32).tobytes()
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(len(h).to_bytes(8, "little") + h + bytes(data))


@pytest.mark.parametrize("how", ["relabel_i32", "nan", "cast_int32"])
def test_weights_of_wrong_kind_or_nan_are_refused(tmp_path: Path, how: str) -> None:
    d = _local_dir(tmp_path)
    if how == "relabel_i32":
        _tamper_safetensors(d / "model.safetensors", dtype="I32")
    elif how == "nan":
        _tamper_safetensors(d / "model.safetensors", fill_nan=True)
    else:
        from skelzoo.hub.safe_load import load_safetensors, save_safetensors
        sd = {k: (v.to(torch.int32) if v.is_floating_point() else v)
              for k, v in load_safetensors(d / "model.safetensors").items()}
        save_safetensors(sd, d / "model.safetensors")
    with pytest.raises(CheckpointError, match="NaN|dtype"):
        skelzoo.load_model(f"local-dir:{d}")


def test_int64_weights_in_a_pt_are_refused(tmp_path: Path) -> None:
    from skelzoo.models import get_converter, to_source_state_dict
    model = skelzoo.load_model("stgcn", num_classes=5, layout="ntu25_pyskl")
    sd = {k: (v.to(torch.int64) if v.is_floating_point() else v)
          for k, v in to_source_state_dict(model, get_converter("stgcn", "mmaction2")).items()}
    p = tmp_path / "int.pth"
    torch.save({"state_dict": sd}, p)
    with pytest.raises(CheckpointError, match="dtype"):
        skelzoo.convert_checkpoint(p, "stgcn", source="mmaction2")


# =============================================================== mmengine training checkpoints
def test_mmengine_training_checkpoint_converts_and_runs_no_payload(tmp_path: Path) -> None:
    from skelzoo.models import get_converter, to_source_state_dict

    model = skelzoo.load_model("stgcn", num_classes=5, layout="ntu25_pyskl")
    sd = collections.OrderedDict(to_source_state_dict(model, get_converter("stgcn", "mmaction2")))
    marker = tmp_path / "payload-ran"
    names = ["mmengine", "mmengine.logging", "mmengine.logging.history_buffer"]
    mods = {n: types.ModuleType(n) for n in names}

    class HistoryBuffer:  # what mmengine pickles in message_hub; its code must never run on load
        def __init__(self) -> None:
            self._log_history = np.array([0.5, 0.25])
            self._count_history = np.array([1, 1])
            self.max_length = 1000000

        def __setstate__(self, state):  # pragma: no cover - would prove code ran
            open(marker, "w").close()

    HistoryBuffer.__module__ = "mmengine.logging.history_buffer"
    HistoryBuffer.__qualname__ = "HistoryBuffer"
    mods["mmengine.logging.history_buffer"].HistoryBuffer = HistoryBuffer
    ck = {
        "meta": {"epoch": np.int64(24), "iter": np.int64(1234), "seed": np.int32(7), "lr": np.float64(0.1),
                 "mmengine_version": "0.10.4"},
        "state_dict": sd,
        "message_hub": {"log_scalars": {"train/loss": HistoryBuffer()}, "runtime_info": {"epoch": 24},
                        "payload": _Marker(marker)},
        "optimizer": {"state": {0: {"momentum_buffer": torch.zeros(3)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
        "param_schedulers": [{"last_epoch": 24, "milestones": collections.Counter({10: 1})}],
    }
    saved = {n: sys.modules.get(n) for n in names}
    sys.modules.update(mods)
    try:
        p = tmp_path / "epoch_24.pth"
        torch.save(ck, p)
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:  # pragma: no cover
                sys.modules[n] = m
    a = skelzoo.convert_checkpoint(p, "stgcn", source="mmaction2")
    b = skelzoo.convert_checkpoint({"state_dict": sd}, "stgcn", source="mmaction2")
    x = torch.randn(2, 3, 20, 25, 2)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    assert not marker.exists()
    # the CLI converts it too
    assert main(["convert", str(p), "--arch", "stgcn", "--source", "mmaction2", "--out", str(tmp_path / "out")]) == 0
    assert not marker.exists()


# =============================================================== 10. file modes follow the umask
def test_written_files_follow_the_umask(tmp_path: Path, flaky: _Flaky) -> None:
    old = os.umask(0o022)
    try:
        d = tmp_path / "m"
        skelzoo.save_pretrained(skelzoo.load_model("stgcn", num_classes=3), d, model_card=False)
        assert (d / "model.safetensors").stat().st_mode & 0o777 == 0o644
        path = download_url(flaky.url, cache_dir=tmp_path / "c", progress=False)
        assert path.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)


# =============================================================== 11. log.jsonl after a resume
def test_resume_drops_log_records_of_replayed_epochs(tmp_path: Path) -> None:
    from skelzoo.training.trainer import Trainer
    log = tmp_path / "log.jsonl"
    recs = [{"epoch": e, "step": s} for e in (1, 2, 3) for s in range(3 * e - 2, 3 * e + 1)]
    log.write_text("".join(json.dumps(r) + "\n" for r in recs) + '{"epoch": 3, "st')
    t = Trainer.__new__(Trainer)
    t.output_dir, t.start_epoch = tmp_path, 2
    t._truncate_log()
    kept = [json.loads(line) for line in log.read_text().splitlines()]
    assert kept == [r for r in recs if r["epoch"] <= 2]


# =============================================================== 12. strict parsing
@pytest.mark.parametrize("state", ["7", "-3", "1.5"])
def test_ntu_tracking_state_must_be_0_1_2(tmp_path: Path, state: str) -> None:
    p = tmp_path / "a.skeleton"
    _write_ntu(p, state=state)
    with pytest.raises(FormatError, match="tracking state"):
        read_skeleton(p)


@pytest.mark.parametrize("value", ["1_000.5", "\u0661\u0662", "\uff11"])
def test_numbers_must_be_plain_ascii(tmp_path: Path, value: str) -> None:
    p = tmp_path / "a.txt"
    lines = pkummd_text(3).splitlines()
    lines[2] = value + " " + lines[2].split(" ", 1)[1]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match="line 3"):
        read_skeleton(p)


@pytest.mark.parametrize("case", ["score", "dup_track"])
def test_coco_scores_and_track_ids(tmp_path: Path, case: str) -> None:
    kp = [1.0, 2.0, 0.5] * 17
    if case == "score":
        frames = [[{"keypoints": [1.0, 2.0, 1.5] + kp[3:]}]]
    else:
        frames = [[{"keypoints": kp, "track_id": 1}, {"keypoints": kp, "track_id": 1}]]
    p = tmp_path / "a.json"
    p.write_text(json.dumps(frames))
    with pytest.raises(FormatError, match="outside|twice"):
        read_skeleton(p)


def test_babel_end_before_start(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"1": {"dur": 5, "frame_ann": {"labels": [{"act_cat": ["walk"], "start_t": 3,
                                                                       "end_t": 1}]}}}))
    with pytest.raises(FormatError, match="before start_t"):
        read_babel(p)


def test_import_skelzoo_stays_torch_free() -> None:
    out = subprocess.run([sys.executable, "-c", "import skelzoo, sys; assert 'torch' not in sys.modules"],
                         env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


# =============================================================== the mutation run (bounded subset)
@pytest.mark.slow  # nightly: a long end-to-end run
def test_mutation_run_subset(tmp_path: Path) -> None:
    """40 mutated cases of every reader (each in its own process, 2 GiB, 30 s): only FormatErrors naming
    the file or accepted files. The full 640-case run: ``python benchmarks/mutation_fuzz.py``."""
    out = tmp_path / "mut.json"
    res = subprocess.run([sys.executable, str(REPO / "benchmarks" / "mutation_fuzz.py"), "--cases", "40",
                          "--json", str(out)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    summary = json.loads(out.read_text())["summary"]
    assert summary["other"] == 0 and summary["memory_over_bound"] == 0, res.stdout[-3000:]
    assert summary["tried"] == 40


@pytest.mark.slow
def test_mutation_run_full(tmp_path: Path) -> None:
    out = tmp_path / "mut.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "mutation_fuzz.py"), "--json", str(out)],
                   capture_output=True, text=True, timeout=3600,
                   env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    summary = json.loads(out.read_text())["summary"]
    assert summary["tried"] >= 500 and summary["other"] == 0 and summary["memory_over_bound"] == 0


# =============================================================== 7. extract on long recordings is chunked
def test_extract_features_chunked_equals_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from skelzoo.io.sequence import SkeletonSequence
    from skelzoo.localization import pipeline
    from skelzoo.models import DEFAULT_LOCALIZER

    model = skelzoo.load_model(DEFAULT_LOCALIZER, pretrained=True)
    data = np.random.default_rng(0).normal(size=(700, 2, 25, 3)).astype(np.float32)
    seq = SkeletonSequence(data, "ntu25", 30.0)
    whole = pipeline.extract_features(model, seq)
    calls = []
    import skelzoo.localization.chunked as chunked_mod
    real = chunked_mod.chunked_forward
    monkeypatch.setattr(chunked_mod, "chunked_forward", lambda *a, **k: calls.append(k) or real(*a, **k))
    monkeypatch.setattr(chunked_mod, "CHUNK_THRESHOLD", 300)
    monkeypatch.setattr(chunked_mod, "DEFAULT_CHUNK", 256)
    chunked = pipeline.extract_features(model, seq)
    assert calls and calls[0]["features"] is True
    np.testing.assert_allclose(chunked, whole, atol=1e-4, rtol=0)


# =============================================================== the same findings, met through the CLI
def _bad_file(tmp_path: Path, kind: str) -> Path:
    if kind == "dev_zero":
        p = tmp_path / "x.skeleton"
        p.symlink_to("/dev/zero")
    elif kind == "ntu_state":
        p = tmp_path / "s.skeleton"
        _write_ntu(p, state="7")
    elif kind == "pkummd_1e300":
        p = _pkummd_with_1e300(tmp_path / "a.txt")
    elif kind == "coco_dup_track":
        p = tmp_path / "a.json"
        kp = [1.0, 2.0, 0.5] * 17
        p.write_text(json.dumps([[{"keypoints": kp, "track_id": 1}, {"keypoints": kp, "track_id": 1}]]))
    elif kind == "coco_many_frames":
        p = tmp_path / "b.json"
        frame0 = [{"keypoints": [1.0, 2.0, 0.5] * 17, "track_id": i} for i in range(1000)]
        p.write_text(json.dumps([frame0] + [[]] * 20000))
    elif kind == "npz_nested":
        p = tmp_path / "a.npz"
        np.savez(p, data=np.zeros((2, 1, 25, 3), np.float32), layout=np.array("ntu25"),
                 meta_json=np.array("[" * 100000 + "]" * 100000))
    else:  # folder
        p = tmp_path / "d.bvh"
        p.mkdir()
    return p


@pytest.mark.parametrize("kind", ["dev_zero", "ntu_state", "pkummd_1e300", "coco_dup_track", "coco_many_frames",
                                  "npz_nested", "folder"])
def test_cli_bad_recordings_exit_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture, kind: str) -> None:
    p = _bad_file(tmp_path, kind)
    assert str(p) in _cli_error(capsys, "localize", str(p))


@pytest.mark.parametrize("how", ["class_names", "nan_weights"])
def test_cli_bad_model_folder_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, how: str) -> None:
    d = _local_dir(tmp_path, **({"class_names": "walkrun"} if how == "class_names" else {}))
    if how == "nan_weights":
        _tamper_safetensors(d / "model.safetensors", fill_nan=True)
    err = _cli_error(capsys, "extract", "--example", "--model", f"local-dir:{d}", "--out", str(tmp_path / "f.npz"))
    assert ("class_names" in err) if how == "class_names" else ("NaN" in err)
