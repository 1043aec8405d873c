"""Hugging Face Hub layer against a local Hub-compatible endpoint (tests/hub_server.py), no internet.

Endpoint setup: ``huggingface_hub`` reads ``HF_ENDPOINT`` & co. once at import time, so these tests do
not rely on it; ``skelzoo.hub.hf`` reads ``HF_ENDPOINT`` / ``HF_HUB_CACHE`` / ``HF_HUB_OFFLINE`` on
every call and passes ``endpoint=`` / ``cache_dir=`` / ``local_files_only=`` explicitly, so a
``monkeypatch.setenv`` per test is enough. Telemetry (which would contact huggingface.co for the
agent registry) is switched off by patching ``huggingface_hub.constants`` for the test.

Never point an *uncached* download at a stopped server: huggingface_hub >= 1.2 retries for ~24 s.
"""
from __future__ import annotations

import hashlib
import json
import time
import types
from pathlib import Path

import pytest
import torch
from hub_server import HubServer, commit_sha
from safetensors.torch import save as st_save

from skelzoo.errors import CheckpointError, ChecksumError, OfflineError, WeightsError
from skelzoo.hub.hf import (
    hf_cache_dir,
    hf_download,
    hf_model_dir,
    list_upload_files,
    parse_hf_name,
    push_to_hub,
)
from skelzoo.hub.safe_load import load_safetensors, save_safetensors

pytestmark = pytest.mark.hub

REPO = "skelzoo-test/stgcn.tiny"
W1 = st_save({"w": torch.arange(6, dtype=torch.float32)})
W2 = st_save({"w": torch.arange(6, dtype=torch.float32) * 2})
CFG1 = json.dumps({"architecture": "stgcn", "num_classes": 60}).encode()
CFG2 = json.dumps({"architecture": "stgcn", "num_classes": 120}).encode()
SHA1, SHA2 = hashlib.sha256(W1).hexdigest(), hashlib.sha256(W2).hexdigest()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Local endpoint with ``REPO`` (``main`` and ``v2`` with different bytes) and two broken repos."""
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)
    for var in ("HF_HUB_OFFLINE", "SKELZOO_OFFLINE", "HF_TOKEN", "HF_HOME"):
        monkeypatch.delenv(var, raising=False)
    server = HubServer(repos={
        REPO: {"main": {"config.json": CFG1, "model.safetensors": W1, "README.md": b"# card\n"},
               "v2": {"config.json": CFG2, "model.safetensors": W2}},
        "skelzoo-test/no-weights": {"main": {"config.json": CFG1, "pytorch_model.bin": b"pickle"}},
        "skelzoo-test/no-config": {"main": {"model.safetensors": W1}},
        "skelzoo-test/gated": {"main": {"config.json": CFG1}},
    }, gated={"skelzoo-test/gated"}).start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    yield server
    server.stop()


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


# ----------------------------------------------------------------------------------------- names
@pytest.mark.parametrize("name, expected", [
    ("hf-hub:org/repo", ("org/repo", None)),
    ("hf-hub:org/repo@v1.0", ("org/repo", "v1.0")),
    ("org/my.model-1@" + "a" * 40, ("org/my.model-1", "a" * 40)),
])
def test_parse_hf_name(name: str, expected: tuple[str, str | None]) -> None:
    assert parse_hf_name(name) == expected


@pytest.mark.parametrize("bad", ["hf-hub:repo", "hf-hub:a/b/c", "hf-hub:org/repo@", "hf-hub:", "org/re po",
                                 "hf-hub:../x"])
def test_parse_hf_name_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="hf-hub:org/name"):
        parse_hf_name(bad)


def test_hf_cache_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert hf_cache_dir() == tmp_path / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert hf_cache_dir() == tmp_path / "hfhome" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "c"))
    assert hf_cache_dir() == tmp_path / "c" and hf_cache_dir(tmp_path / "x") == tmp_path / "x"


# -------------------------------------------------------------------------------------- download
def test_first_download_then_cached_with_server_stopped(hub: HubServer, tmp_path: Path) -> None:
    path = hf_download(REPO, "model.safetensors", sha256=SHA1)
    assert path.read_bytes() == W1
    assert path.is_relative_to(tmp_path / "hf")  # HF_HUB_CACHE read at call time
    assert path.resolve().name == SHA1  # blob named by the ETag = sha256
    assert hub.count("GET", "/resolve/") == 1

    commit = hub.commit(REPO)
    hub.stop()
    t0 = time.monotonic()
    assert hf_download(REPO, "model.safetensors", revision=commit, sha256=SHA1) == path  # no request
    assert hf_download(REPO, "model.safetensors", sha256=SHA1) == path  # HEAD refused -> cached copy
    assert time.monotonic() - t0 < 5


def test_explicit_cache_dir_and_endpoint(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = hub.url
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # would be wrong; endpoint= wins
    path = hf_download(REPO, "config.json", cache_dir=tmp_path / "own", endpoint=url)
    assert path.is_relative_to(tmp_path / "own") and path.read_bytes() == CFG1


def test_revision_pinning(hub: HubServer) -> None:
    main = hf_download(REPO, "model.safetensors")
    v2 = hf_download(REPO, "model.safetensors", revision="v2", sha256=SHA2)
    by_sha = hf_download(REPO, "model.safetensors", revision=hub.commit(REPO, "v2"))
    assert main.read_bytes() == W1 and v2.read_bytes() == W2 and by_sha == v2
    assert main.parent.name == hub.commit(REPO) and v2.parent.name == hub.commit(REPO, "v2")
    assert torch.equal(load_safetensors(v2)["w"], torch.arange(6.0) * 2)


def test_model_dir(hub: HubServer) -> None:
    folder = hf_model_dir(REPO, sha256=SHA1)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert folder.name == hub.commit(REPO)
    assert hub.count("GET", "config.json") == 1  # the Hub's download counter sees config.json
    # the weights are fetched at the commit sha config.json resolved to, not at the moving branch
    assert hub.count("HEAD", f"/resolve/{hub.commit(REPO)}/model.safetensors") == 1

    folder2 = hf_model_dir(REPO, revision="v2")  # no README in this revision: fine
    assert sorted(p.name for p in folder2.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((folder2 / "config.json").read_text())["num_classes"] == 120


@pytest.mark.parametrize("repo, message", [
    ("skelzoo-test/no-weights", "only loads safetensors"),
    ("skelzoo-test/no-config", "has no config.json"),
])
def test_model_dir_incomplete_repo(hub: HubServer, repo: str, message: str) -> None:
    with pytest.raises(WeightsError, match=message):
        hf_model_dir(repo)


@pytest.mark.parametrize("kwargs, message, cause", [
    ({"repo_id": "skelzoo-test/missing", "filename": "config.json"}, "repository 'skelzoo-test/missing' not found",
     "RepositoryNotFoundError"),
    ({"repo_id": REPO, "filename": "nope.bin"}, "file 'nope.bin' not found", "EntryNotFoundError"),
    ({"repo_id": REPO, "filename": "config.json", "revision": "v9"}, "revision 'v9' not found",
     "RevisionNotFoundError"),
    ({"repo_id": "skelzoo-test/gated", "filename": "config.json"}, "gated", "GatedRepoError"),
])
def test_clear_errors(hub: HubServer, kwargs: dict, message: str, cause: str) -> None:
    with pytest.raises(WeightsError, match=message) as info:
        hf_download(**kwargs)
    assert not isinstance(info.value, OfflineError)
    assert hub.url in str(info.value)
    assert cause in [c.__name__ for c in type(info.value.__cause__).__mro__]


def test_checksum_mismatch_removes_the_file(hub: HubServer, tmp_path: Path) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ChecksumError) as info:
        hf_download(REPO, "model.safetensors", sha256=wrong)
    msg = str(info.value)
    assert wrong in msg and SHA1 in msg and REPO in msg
    repo_dir = tmp_path / "hf" / "models--skelzoo-test--stgcn.tiny"
    assert not [f for f in _files(repo_dir) if f.startswith(("blobs/", "snapshots/"))]
    # nothing usable is left: offline, the file is simply not there
    with pytest.raises(OfflineError):
        hf_download(REPO, "model.safetensors", revision=hub.commit(REPO), local_files_only=True)
    # online again it is downloaded afresh, and verified
    hub.reset_counts()
    assert hf_download(REPO, "model.safetensors", sha256=SHA1).read_bytes() == W1
    assert hub.count("GET") == 1


def test_corrupted_in_transit_is_caught(hub: HubServer) -> None:
    """huggingface_hub does not check the body against the ETag (it stores it under the ETag's name);
    only the registry sha256 catches it."""
    hub.corrupt.add("model.safetensors")
    with pytest.raises(ChecksumError):
        hf_download(REPO, "model.safetensors", sha256=SHA1)
    hub.corrupt.clear()
    assert hf_download(REPO, "model.safetensors", sha256=SHA1).read_bytes() == W1


def test_checksum_verified_on_every_load(hub: HubServer) -> None:
    path = hf_download(REPO, "model.safetensors", sha256=SHA1)
    path.resolve().write_bytes(W2)  # the cached blob is swapped behind our back
    with pytest.raises(ChecksumError):
        hf_download(REPO, "model.safetensors", revision=hub.commit(REPO), sha256=SHA1)


def test_truncated_transfer_caches_nothing(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.file_download as fd

    # huggingface_hub retries a broken transfer 5 times with a 1 s sleep; skip the sleeping
    fake_time = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("_")})
    fake_time.sleep = lambda s: None
    monkeypatch.setattr(fd, "time", fake_time)
    hub.truncate["model.safetensors"] = len(W1) // 2
    with pytest.raises(WeightsError, match="failed") as info:
        hf_download(REPO, "model.safetensors")
    assert not isinstance(info.value, OfflineError)
    repo_dir = tmp_path / "hf" / "models--skelzoo-test--stgcn.tiny"
    assert not [f for f in _files(repo_dir) if f.startswith("snapshots/") or
                (f.startswith("blobs/") and not f.endswith(".incomplete"))]
    hub.truncate.clear()
    assert hf_download(REPO, "model.safetensors", sha256=SHA1).read_bytes() == W1


# --------------------------------------------------------------------------------------- offline
@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE", "SKELZOO_OFFLINE", "argument"])
def test_offline_not_cached(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    kwargs = {}
    if how == "argument":
        kwargs["local_files_only"] = True
    else:
        monkeypatch.setenv(how, "1")
    with pytest.raises(OfflineError) as info:
        hf_download(REPO, "model.safetensors", **kwargs)
    msg = str(info.value)
    assert REPO in msg and str(tmp_path / "hf") in msg and "offline" in msg
    assert hub.count() == 0


def test_offline_cached_makes_no_request(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = hf_model_dir(REPO, sha256=SHA1)
    hub.reset_counts()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hf_model_dir(REPO, sha256=SHA1) == folder
    assert hf_download(REPO, "model.safetensors", sha256=SHA1) == folder / "model.safetensors"
    assert hub.count() == 0


def test_offline_seeded_cache_without_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented manual seeding (refs/main + snapshots/<sha>/file) works with no endpoint at all."""
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    sha = commit_sha(REPO, "main")
    repo_dir = tmp_path / "seed" / "models--skelzoo-test--stgcn.tiny"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(sha)
    snap = repo_dir / "snapshots" / sha
    snap.mkdir(parents=True)
    (snap / "config.json").write_bytes(CFG1)
    (snap / "model.safetensors").write_bytes(W1)
    assert hf_model_dir(REPO, cache_dir=tmp_path / "seed", sha256=SHA1) == snap


# ------------------------------------------------------------------------------------------ push
def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    save_safetensors({"w": torch.ones(3)}, folder / "model.safetensors")
    (folder / "config.json").write_bytes(CFG1)
    (folder / "README.md").write_text("# card\n")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "junk").write_text("x")
    (folder / ".model.safetensors.lock").write_text("")
    return folder


def test_push_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _model_folder(tmp_path)

    def no_api(*a: object, **k: object) -> None:
        raise AssertionError("dry_run must not touch the Hub")

    monkeypatch.setattr("huggingface_hub.HfApi", no_api)
    names = push_to_hub(folder, "org/name", dry_run=True)
    assert names == ["README.md", "config.json", "model.safetensors"]
    sizes = dict(list_upload_files(folder))
    assert sizes["model.safetensors"] == (folder / "model.safetensors").stat().st_size


def test_push_uploads_with_hfapi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _model_folder(tmp_path)
    monkeypatch.delenv("SKELZOO_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls: list[tuple[str, tuple, dict]] = []

    class FakeApi:
        def __init__(self, **kwargs: object) -> None:
            calls.append(("init", (), kwargs))

        def __getattr__(self, name: str):
            return lambda *a, **k: calls.append((name, a, k))

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    names = push_to_hub(folder, "hf-hub:org/name", token="t0k", private=True, revision="dev",
                        endpoint="http://127.0.0.1:1")
    kinds = [c[0] for c in calls]
    assert kinds == ["init", "create_repo", "create_branch", "upload_folder"]
    assert calls[0][2]["endpoint"] == "http://127.0.0.1:1" and calls[0][2]["token"] == "t0k"
    assert calls[1][1] == ("org/name",) and calls[1][2]["private"] is True
    assert calls[3][2]["allow_patterns"] == names and calls[3][2]["revision"] == "dev"


def test_push_refuses_incomplete_or_invalid(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path)
    (folder / "config.json").unlink()
    with pytest.raises(WeightsError, match="config.json"):
        push_to_hub(folder, "org/name", dry_run=True)
    (folder / "config.json").write_bytes(CFG1)
    (folder / "model.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError):
        push_to_hub(folder, "org/name", dry_run=True)
