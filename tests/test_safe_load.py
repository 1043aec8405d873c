"""Safe checkpoint I/O: refused pickles, crafted safetensors headers, atomic saves."""
from __future__ import annotations

import builtins
import json
import struct
from pathlib import Path

import pytest
import torch

from skelzoo.errors import CheckpointError
from skelzoo.hub.safe_load import (
    ForeignObject,
    load_safetensors,
    load_torch_checkpoint,
    save_safetensors,
    validate_safetensors,
)


# --------------------------------------------------------------------------------------- pickles
class _WritesFile:
    """Unpickling this object calls ``open(marker, "w")``: a file appears if the pickle runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    ckpt = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "payload": _WritesFile(marker)}, ckpt)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        load_torch_checkpoint(ckpt, foreign=False)
    assert not marker.exists()
    # by default the foreign global becomes an inert placeholder: the tensors load, nothing runs
    out = load_torch_checkpoint(ckpt)
    assert isinstance(out["payload"], ForeignObject) and out["payload"].global_name.endswith(".open")
    assert torch.equal(out["state_dict"]["w"], torch.ones(2))
    assert not marker.exists()
    # the payload is real: full unpickling would have created the file
    torch.load(ckpt, weights_only=False)
    assert marker.exists()


def test_plain_checkpoint_loads(tmp_path: Path) -> None:
    ckpt = tmp_path / "ok.pth"
    sd = {"state_dict": {"w": torch.arange(4.0)}, "meta": {"epoch": 3}}
    torch.save(sd, ckpt)
    out = load_torch_checkpoint(ckpt)
    assert torch.equal(out["state_dict"]["w"], torch.arange(4.0)) and out["meta"]["epoch"] == 3


@pytest.mark.parametrize("content", [b"not a checkpoint at all", b""])
def test_garbage_checkpoint(tmp_path: Path, content: bytes) -> None:
    ckpt = tmp_path / "bad.pth"
    ckpt.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_torch_checkpoint(ckpt)


def test_non_dict_checkpoint(tmp_path: Path) -> None:
    ckpt = tmp_path / "t.pth"
    torch.save(torch.ones(3), ckpt)
    with pytest.raises(CheckpointError, match="expected a dictionary"):
        load_torch_checkpoint(ckpt)


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_torch_checkpoint(tmp_path / "nope.pth")


# ----------------------------------------------------------------------------------- safetensors
def _craft(path: Path, header: object, data: bytes = b"", *, length: int | None = None,
           raw_header: bytes | None = None) -> Path:
    hb = raw_header if raw_header is not None else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(hb) if length is None else length) + hb + data)
    return path


def test_roundtrip_and_validate(tmp_path: Path) -> None:
    sd = {"a": torch.randn(3, 4), "b": torch.arange(5), "c": torch.zeros(0), "d": torch.tensor(True),
          "e": torch.randn(2, dtype=torch.float64).to(torch.bfloat16)}
    path = save_safetensors(sd, tmp_path / "sub" / "m.safetensors", metadata={"k": "v"})
    header = validate_safetensors(path)
    assert header["__metadata__"] == {"k": "v"} and set(header) - {"__metadata__"} == set(sd)
    out = load_safetensors(path)
    assert set(out) == set(sd) and all(torch.equal(out[k], sd[k]) for k in sd)
    assert list(tmp_path.glob("sub/*.part")) == []


def test_save_shared_and_noncontiguous(tmp_path: Path) -> None:
    w = torch.randn(4, 6)
    sd = {"w": w, "tied": w, "view": w[1], "t": w.t(), "sl": w[:, ::2]}
    out = load_safetensors(save_safetensors(sd, tmp_path / "m.safetensors"))
    for k, v in sd.items():
        assert torch.equal(out[k], v), k


def test_save_rejects_bad_metadata_and_values(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="str -> str"):
        save_safetensors({"a": torch.ones(1)}, tmp_path / "m.safetensors", metadata={"n": 60})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="not a tensor"):
        save_safetensors({"a": [1, 2]}, tmp_path / "m.safetensors")  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_safetensors({"a": torch.ones(2)}, tmp_path / "m.safetensors")
    before = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_safetensors({"a": torch.zeros(2)}, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


F32 = 4


@pytest.mark.parametrize("case, match", [
    ("huge_length", "exceeds"),
    ("length_past_eof", "past the end"),
    ("zero_length", "header length is 0"),
    ("too_short", "shorter than"),
    ("overlap", "overlaps"),
    ("beyond_eof", "beyond"),
    ("shape_mismatch", "needs"),
    ("huge_shape", "needs"),
    ("unknown_dtype", "unknown dtype"),
    ("hole", "hole"),
    ("trailing_bytes", "cover"),
    ("not_json", "JSON"),
    ("duplicate_key", "duplicate"),
    ("not_object", "not a JSON object"),
    ("bad_metadata", "__metadata__"),
    ("negative_offsets", "begin"),
    ("bad_shape", "invalid shape"),
])
def test_crafted_headers_are_rejected(tmp_path: Path, case: str, match: str) -> None:
    p = tmp_path / "x.safetensors"
    t = lambda off, shape=(2,), dtype="F32": {"dtype": dtype, "shape": list(shape), "data_offsets": off}  # noqa: E731
    data8 = bytes(8)
    if case == "huge_length":
        _craft(p, {}, length=2**63)
    elif case == "length_past_eof":
        _craft(p, {"a": t([0, 8])}, data8, length=10_000)
    elif case == "zero_length":
        _craft(p, None, raw_header=b"", length=0)
    elif case == "too_short":
        p.write_bytes(b"\x01\x00")
    elif case == "overlap":
        _craft(p, {"a": t([0, 8]), "b": t([4, 12])}, bytes(12))
    elif case == "beyond_eof":
        _craft(p, {"a": t([0, 8]), "b": t([8, 2**40 + 8], shape=(2**38,))}, data8)
    elif case == "shape_mismatch":
        _craft(p, {"a": t([0, 8], shape=(3,))}, data8)
    elif case == "huge_shape":
        _craft(p, {"a": t([0, 8], shape=(2**40, 2**40))}, data8)
    elif case == "unknown_dtype":
        _craft(p, {"a": t([0, 8], dtype="F128")}, data8)
    elif case == "hole":
        _craft(p, {"a": t([0, 8]), "b": t([12, 20])}, bytes(20))
    elif case == "trailing_bytes":
        _craft(p, {"a": t([0, 8])}, bytes(16))
    elif case == "not_json":
        _craft(p, None, data8, raw_header=b"{not json")
    elif case == "duplicate_key":
        _craft(p, None, bytes(16), raw_header=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
                                              b' "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}')
    elif case == "not_object":
        _craft(p, [1, 2], data8)
    elif case == "bad_metadata":
        _craft(p, {"__metadata__": {"n": 60}, "a": t([0, 8])}, data8)
    elif case == "negative_offsets":
        _craft(p, {"a": t([8, 0])}, data8)
    elif case == "bad_shape":
        _craft(p, {"a": t([0, 8], shape=(-2,))}, data8)
    with pytest.raises(CheckpointError, match=match):
        validate_safetensors(p)
    with pytest.raises(CheckpointError):
        load_safetensors(p)


def test_validator_accepts_what_safetensors_writes_for_every_dtype(tmp_path: Path) -> None:
    dtypes = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32,
              torch.int16, torch.int8, torch.uint8, torch.bool]
    sd = {str(d): torch.zeros(3, 2, dtype=d) for d in dtypes}
    out = load_safetensors(save_safetensors(sd, tmp_path / "all.safetensors"))
    assert {k: v.dtype for k, v in out.items()} == {k: v.dtype for k, v in sd.items()}
