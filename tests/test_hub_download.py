"""URL downloads into skelzoo's cache, against a local static server (no internet)."""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch
from hub_server import StaticServer, download_worker

from skelzoo.errors import ChecksumError, OfflineError, WeightsError
from skelzoo.hub import cache as cache_mod
from skelzoo.hub.cache import (
    cache_dir,
    cached_conversion,
    download_url,
    hash_prefix_from_name,
    sha256_file,
    url_cache_path,
)
from skelzoo.hub.safe_load import load_safetensors

pytestmark = [pytest.mark.hub, pytest.mark.usefixtures("online_home")]

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
NAME = f"ckpt/stgcn_ntu60_20220101-{SHA[:8]}.pth"


@pytest.fixture
def server():
    """A static server holding one checkpoint at ``NAME``; stopped after the test."""
    srv = StaticServer(files={NAME: PAYLOAD}).start()
    yield srv
    srv.stop()




def _visible_files(folder: Path) -> list[Path]:
    """Files a loader could pick up: everything except our hidden lock files."""
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock")]


# ----------------------------------------------------------------------------------- locations
def test_cache_dir_reads_environment_at_call_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SKELZOO_HOME", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("SKELZOO_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "skelzoo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert cache_dir() == tmp_path / "h" / ".cache" / "skelzoo"


def test_url_cache_path_layout(tmp_path: Path) -> None:
    a = url_cache_path("https://x.org/pyskl/stgcn_xsub/j.pth", cache_dir=tmp_path)
    b = url_cache_path("https://x.org/pyskl/stgcn_xview/j.pth", cache_dir=tmp_path)
    assert a == tmp_path / "x.org" / "pyskl" / "stgcn_xsub" / "j.pth" and a != b
    assert url_cache_path("https://x.org/j.pth?v=1", cache_dir=tmp_path) != url_cache_path(
        "https://x.org/j.pth?v=2", cache_dir=tmp_path)
    assert url_cache_path("http://h:8/a", cache_dir=tmp_path, filename="m/x.pth") == tmp_path / "m" / "x.pth"
    assert url_cache_path("https://x.org/a.pth").parent.parent == cache_dir() / "checkpoints"
    for bad in ("../x.pth", "a/../../x"):
        with pytest.raises(ValueError):
            url_cache_path("https://x.org/a", cache_dir=tmp_path, filename=bad)
    with pytest.raises(ValueError, match="http"):
        url_cache_path("file:///etc/passwd", cache_dir=tmp_path)


def test_hash_prefix_from_name() -> None:
    assert hash_prefix_from_name("https://d.org/x/resnet18-f37072fd.pth") == "f37072fd"
    assert hash_prefix_from_name("tsn_r50_20220101-abcdef12.pth") == "abcdef12"
    assert hash_prefix_from_name("https://d.org/x/j.pth") is None


# ------------------------------------------------------------------------------------ download
def test_first_download_then_cached_with_server_stopped(server: StaticServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    url = server.file_url(NAME)
    path = download_url(url, sha256=SHA, cache_dir=tmp_path / "c", progress=True)
    assert path.read_bytes() == PAYLOAD and sha256_file(path) == SHA
    assert path == url_cache_path(url, cache_dir=tmp_path / "c")
    assert server.count("GET") == 1
    err = capsys.readouterr().err
    assert path.name in err and "B" in err  # the tqdm bar went to stderr
    assert _visible_files(tmp_path / "c") == [path]

    server.stop()
    again = download_url(url, sha256=SHA, cache_dir=tmp_path / "c", progress=True)
    assert again == path
    assert capsys.readouterr().err == ""  # no bar, no network for a cached file


def test_default_location_is_under_skelzoo_home(server: StaticServer, tmp_path: Path) -> None:
    path = download_url(server.file_url(NAME), hash_prefix=hash_prefix_from_name(NAME), progress=False)
    assert path.is_relative_to(tmp_path / "home" / "checkpoints")


def test_no_progress_bar_when_disabled(server: StaticServer, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    download_url(server.file_url(NAME), cache_dir=tmp_path, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kind", ["sha256", "hash_prefix"])
def test_checksum_mismatch_leaves_nothing(server: StaticServer, tmp_path: Path, kind: str) -> None:
    server.wrong_bytes.add(NAME)
    url = server.file_url(NAME)
    kwargs = {"sha256": SHA} if kind == "sha256" else {"hash_prefix": SHA[:8]}
    with pytest.raises(ChecksumError) as info:
        download_url(url, cache_dir=tmp_path, progress=False, **kwargs)
    msg = str(info.value)
    assert SHA[:8] in msg and url in msg and "got" in msg
    assert _visible_files(tmp_path) == []
    # the correct bytes are accepted afterwards
    server.wrong_bytes.clear()
    assert download_url(url, cache_dir=tmp_path, progress=False, **kwargs).read_bytes() == PAYLOAD


def test_truncated_transfer_is_not_cached(server: StaticServer, tmp_path: Path) -> None:
    server.truncate[NAME] = 100_000
    url = server.file_url(NAME)
    with pytest.raises(WeightsError, match="interrupted|truncated"):
        download_url(url, cache_dir=tmp_path, progress=False)  # no hash: only Content-Length protects
    assert _visible_files(tmp_path) == []
    server.truncate.clear()
    assert download_url(url, cache_dir=tmp_path, progress=False).read_bytes() == PAYLOAD


def test_http_error(server: StaticServer, tmp_path: Path) -> None:
    url = server.file_url("missing.pth")
    with pytest.raises(WeightsError, match="HTTP 404") as info:
        download_url(url, cache_dir=tmp_path, progress=False)
    assert url in str(info.value) and not isinstance(info.value, OfflineError)
    assert _visible_files(tmp_path) == []


def test_unreachable_host_is_offline_error(server: StaticServer, tmp_path: Path) -> None:
    url = server.file_url(NAME)
    server.stop()
    with pytest.raises(OfflineError) as info:
        download_url(url, cache_dir=tmp_path, progress=False)
    assert url in str(info.value) and str(url_cache_path(url, cache_dir=tmp_path)) in str(info.value)


@pytest.mark.parametrize("how", ["SKELZOO_OFFLINE", "HF_HUB_OFFLINE", "argument"])
def test_offline_not_cached(server: StaticServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            how: str) -> None:
    url = server.file_url(NAME)
    if how == "argument":
        kwargs = {"offline": True}
    else:
        monkeypatch.setenv(how, "1")
        kwargs = {}
    with pytest.raises(OfflineError) as info:
        download_url(url, sha256=SHA, cache_dir=tmp_path, progress=False, **kwargs)
    msg = str(info.value)
    target = url_cache_path(url, cache_dir=tmp_path)
    assert url in msg and str(target) in msg and SHA in msg
    assert server.count() == 0 and not target.exists()


def test_offline_cached_makes_no_request(server: StaticServer, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url = server.file_url(NAME)
    path = download_url(url, sha256=SHA, cache_dir=tmp_path, progress=False)
    server.reset_counts()
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    assert download_url(url, sha256=SHA, cache_dir=tmp_path, progress=False) == path
    assert server.count() == 0
    # an explicit offline=False beats the environment (and the file is cached: still no request)
    assert download_url(url, cache_dir=tmp_path, progress=False, offline=False) == path
    assert server.count() == 0


def test_manually_placed_file_is_used_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://example.invalid/zoo/m.pth"
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    with pytest.raises(OfflineError):
        download_url(url, sha256=SHA, cache_dir=tmp_path)
    target = url_cache_path(url, cache_dir=tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    assert download_url(url, sha256=SHA, cache_dir=tmp_path) == target


def test_corrupt_cached_file_is_refused_not_replaced(server: StaticServer, tmp_path: Path) -> None:
    url = server.file_url(NAME)
    path = download_url(url, sha256=SHA, cache_dir=tmp_path, progress=False)
    path.write_bytes(b"tampered")
    server.reset_counts()
    with pytest.raises(ChecksumError, match="Delete it") as info:
        download_url(url, sha256=SHA, cache_dir=tmp_path, progress=False)
    assert str(path) in str(info.value) and server.count() == 0
    assert path.read_bytes() == b"tampered"


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 hex"):
        download_url("https://x.org/a", sha256="abc", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hex"):
        download_url("https://x.org/a", hash_prefix="xyz", cache_dir=tmp_path)


# ------------------------------------------------------------------------------- interruptions
def test_exception_mid_download_leaves_nothing(server: StaticServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import tqdm.auto

    class Exploding(tqdm.auto.tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            raise KeyboardInterrupt  # a BaseException, like Ctrl-C in the middle of the transfer

    server.chunk = 16_384
    monkeypatch.setattr(tqdm.auto, "tqdm", Exploding)
    with pytest.raises(KeyboardInterrupt):
        download_url(server.file_url(NAME), cache_dir=tmp_path, progress=False)
    assert _visible_files(tmp_path) == []


def test_killed_download_leaves_nothing_loadable(server: StaticServer, tmp_path: Path) -> None:
    server.chunk, server.delay = 65_536, 0.5  # ~2.5 s for the whole file; killed after one chunk
    url = server.file_url(NAME)
    target = url_cache_path(url, cache_dir=tmp_path)
    script = Path(__file__).with_name("hub_server.py")
    proc = subprocess.Popen([sys.executable, str(script), url, str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        parts: list[Path] = []
        while time.monotonic() < deadline and not parts:
            parts = [p for p in (target.parent.glob("*.part") if target.parent.exists() else [])
                     if p.exists() and p.stat().st_size > 0]
            time.sleep(0.02)
        assert parts, "the download never started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert not target.exists()
    assert all(p.name.startswith(".") and p.name.endswith(".part") for p in _visible_files(tmp_path))
    server.delay = 0.0
    assert download_url(url, sha256=SHA, cache_dir=tmp_path, progress=False) == target
    assert _visible_files(tmp_path) == [target]  # the stale .part was cleaned up


def test_eight_processes_one_download(server: StaticServer, tmp_path: Path) -> None:
    server.chunk, server.delay = 32_768, 0.01
    url, cache, barrier = server.file_url(NAME), tmp_path / "c", tmp_path / "barrier"
    barrier.mkdir()
    n = 8
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        futures = [pool.submit(download_worker, url, str(cache), SHA, str(barrier), n) for _ in range(n)]
        paths = {f.result(timeout=60) for f in futures}
    assert len(paths) == 1
    (path,) = paths
    assert sha256_file(path) == SHA
    assert _visible_files(cache) == [Path(path)]
    assert server.count("GET") == 1  # the lock made the others wait for the first download


# ----------------------------------------------------------------------------------- conversion
def test_cached_conversion_converts_once(server: StaticServer, tmp_path: Path) -> None:
    url = server.file_url(NAME)
    calls: list[Path] = []

    def produce() -> dict[str, torch.Tensor]:
        src = download_url(url, sha256=SHA, cache_dir=tmp_path / "dl", progress=False)
        calls.append(src)
        return {"w": torch.tensor(list(src.read_bytes()[:64]), dtype=torch.uint8)}

    out = cached_conversion("stgcn.test", produce, source_url=url, cache_dir=tmp_path / "conv",
                            metadata={"converter": "1"})
    assert out == tmp_path / "conv" / "stgcn.test.safetensors" and len(calls) == 1
    from safetensors import safe_open

    with safe_open(out, "pt") as fh:
        meta = fh.metadata()
    assert meta == {"skelzoo_conversion_key": "stgcn.test", "source_url": url, "converter": "1"}

    server.stop()  # a second load needs neither the network nor the original checkpoint

    def must_not_run() -> dict[str, torch.Tensor]:
        raise AssertionError("a cached conversion must not be produced again")

    again = cached_conversion("stgcn.test", must_not_run, source_url=url, cache_dir=tmp_path / "conv",
                              metadata={"converter": "1"})
    assert again == out and len(calls) == 1
    assert torch.equal(load_safetensors(again)["w"], torch.tensor(list(PAYLOAD[:64]), dtype=torch.uint8))


def test_cached_conversion_default_location(tmp_path: Path) -> None:
    out = cached_conversion("a.b", lambda: {"x": torch.ones(1)})
    assert out == tmp_path / "home" / "converted" / "a.b.safetensors"


@pytest.mark.parametrize("change", [{"source_url": "https://new.org/x.pth"}, {"metadata": {"converter": "2"}}])
def test_cached_conversion_stale_is_redone(tmp_path: Path, change: dict) -> None:
    base = {"source_url": "https://old.org/x.pth", "metadata": {"converter": "1"}, "cache_dir": tmp_path}
    cached_conversion("k", lambda: {"a": torch.zeros(2)}, **base)
    out = cached_conversion("k", lambda: {"a": torch.ones(2)}, **{**base, **change})
    assert torch.equal(load_safetensors(out)["a"], torch.ones(2))


def test_cached_conversion_failure_caches_nothing(tmp_path: Path) -> None:
    def broken() -> dict[str, torch.Tensor]:
        raise WeightsError("download failed")

    with pytest.raises(WeightsError):
        cached_conversion("k", broken, cache_dir=tmp_path / "conv")
    assert _visible_files(tmp_path / "conv") == []
    with pytest.raises(ValueError):
        cached_conversion("../evil", broken, cache_dir=tmp_path / "conv")


def test_cached_conversion_regenerates_invalid_file(tmp_path: Path) -> None:
    target = tmp_path / "conv" / "k.safetensors"
    target.parent.mkdir()
    target.write_bytes(b"garbage!garbage!")
    out = cached_conversion("k", lambda: {"a": torch.ones(2)}, cache_dir=tmp_path / "conv")
    assert out == target and torch.equal(load_safetensors(out)["a"], torch.ones(2))


def test_module_has_no_global_state() -> None:
    assert not [n for n, v in vars(cache_mod).items()
                if isinstance(v, (dict, list, set)) and not n.startswith("__")]
