"""Safe checkpoint I/O: validated safetensors, ``weights_only`` pickles, atomic saves.

Policy:

- Remote files are only ever read as safetensors. :func:`validate_safetensors` parses and checks the
  header in pure Python *before* the file is handed to ``safetensors`` (sane header length, known
  dtypes, ``shape x itemsize == byte span``, offsets sorted, contiguous and inside the file), so a
  crafted file gives :class:`~skelzoo.errors.CheckpointError` instead of a crash or a huge allocation.
- User ``.pt``/``.pth`` files are read with ``torch.load(weights_only=True)`` only; anything that needs
  arbitrary code to unpickle is refused and nothing of it runs. Training checkpoints of mmengine /
  mmaction2 / pyskl (``epoch_N.pth`` with ``message_hub``, optimizer state, numpy values in ``meta``)
  hold such objects beside the state dict: :func:`load_torch_checkpoint` then loads again with every
  foreign global replaced by an inert :class:`ForeignObject` placeholder (never called, only records
  its arguments), which is enough to reach the tensors; the placeholders are reported.
- Saves are atomic: written to a temporary file in the target folder, then ``os.replace``-d.

``torch`` and ``safetensors`` are imported inside the functions so that importing this module is free.
"""
from __future__ import annotations

import json
import logging
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from skelzoo.errors import CheckpointError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["load_torch_checkpoint", "ForeignObject", "validate_safetensors", "load_safetensors", "save_safetensors",
           "check_weights"]

logger = logging.getLogger(__name__)

#: Largest JSON header accepted (safetensors itself uses the same 100 MB bound).
MAX_HEADER_BYTES = 100 * 1024 * 1024

#: Bits per element of every dtype the safetensors format defines.
DTYPE_BITS: Mapping[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8,
    "F8_E4M3": 8, "F8_E4M3FNUZ": 8, "F8_E5M2": 8, "F8_E5M2FNUZ": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

PathLike = Union[str, "os.PathLike[str]"]


# --------------------------------------------------------------------------------------------- pickles
class ForeignObject:
    """Inert stand-in for an object of a foreign class (or the result of a foreign function) in a pickle.

    It runs no code of the class it replaces: creating it only stores the pickled arguments
    (``args``) and state (``state``); ``global_name`` says what it replaces. Nothing ever calls it.
    """

    global_name = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> "ForeignObject":
        obj = object.__new__(cls)
        obj.__dict__["args"] = args
        obj.__dict__["state"] = None
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.__dict__["state"] = state

    def __repr__(self) -> str:
        return f"<ForeignObject {self.global_name}>"


def _placeholder_class(name: str) -> type:
    return type("ForeignObject", (ForeignObject,), {"global_name": name, "__module__": __name__})


def _unsupported_global(exc: BaseException) -> bool:
    text = str(exc)
    return "Unsupported global" in text or "was not an allowed global" in text


def _load_with_placeholders(path: Path) -> tuple[Any, list[str]]:
    """``torch.load(weights_only=True)`` with every global outside torch's allowlist mapped to an inert
    :class:`ForeignObject` subclass. Modules torch blocks outright (``os``, ``sys``, ...) stay refused."""
    import torch
    from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals

    names = sorted(get_unsafe_globals_in_checkpoint(path))
    placeholders = [(_placeholder_class(n), n) for n in names]
    with safe_globals(placeholders):
        obj = torch.load(path, map_location="cpu", weights_only=True)
    return obj, names


def load_torch_checkpoint(path: PathLike, *, foreign: bool = True) -> dict[str, Any]:
    """Load a ``.pt``/``.pth`` checkpoint with ``torch.load(weights_only=True)`` onto the CPU.

    A training checkpoint whose extra entries (mmengine ``message_hub`` with ``HistoryBuffer``
    objects, numpy scalars in ``meta``, ...) need classes outside torch's allowlist is loaded again with
    inert :class:`ForeignObject` placeholders for those classes and functions (none of their code runs);
    the replaced globals are logged as a warning.

    Args:
        path: the checkpoint file.
        foreign: ``False`` refuses such checkpoints instead of loading them with placeholders.

    Returns:
        The unpickled top-level dictionary (e.g. a state dict or an mmcv ``{"state_dict": ...}``
        container); unwrapping containers is the caller's job.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the pickle refers to a module torch never allows (``os``, ``sys``, ...), the
            file is not a torch checkpoint, or its top level is not a dictionary. Nothing of it ran.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"):
        # torch ignores this variable when weights_only is passed explicitly, as we do; say so.
        logger.warning("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set; skelzoo still loads %s with "
                       "weights_only=True", path)
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            if not (foreign and _unsupported_global(exc)):
                raise
            obj, names = _load_with_placeholders(path)
            logger.warning("%s: replaced %d foreign object type(s) by inert placeholders (their code did not "
                           "run; only the tensors are used): %s", path, len(names), ", ".join(names))
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        reason = next((ln for ln in first if "Unsupported" in ln or "global" in ln.lower()),
                      first[0] if first else "")
        reason = reason.split(" Please use")[0].strip().rstrip(".")
        raise CheckpointError(
            f"refusing to unpickle {path}: it needs code execution beyond plain tensors and containers "
            f"({reason.strip()[:200]}). skelzoo loads pickles with torch.load(weights_only=True) only. If you "
            "trust the file, convert it yourself to a plain state dict and save it with "
            "skelzoo.hub.save_safetensors (or torch.save(model.state_dict(), ...))."
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, struct.error, MemoryError, RecursionError) as exc:
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{path} is not a readable torch checkpoint: {msg[:200]}") from exc
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f"{path} holds a {type(obj).__name__}, expected a dictionary (a state dict or a container "
            "such as {'state_dict': ...})"
        )
    return dict(obj)


def check_zip_integrity(path: PathLike) -> None:
    """For a zip-format torch checkpoint, check every member's CRC (a corrupt body of the right length
    otherwise loads partly or fails deep inside torch). Legacy (non-zip) pickles are left to the loader.

    Raises:
        CheckpointError: the archive is damaged.
    """
    import zipfile

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise CheckpointError(f"{path} is a damaged zip archive (truncated or corrupt: {exc})") from None
    if bad is not None:
        raise CheckpointError(f"{path} is corrupt: archive member {bad!r} fails its CRC check")


# ---------------------------------------------------------------------------------------- weight values
def check_weights(state: Mapping[str, Any], reference: Mapping[str, Any], what: str) -> None:
    """Refuse weights whose dtype kind or values cannot be what ``reference`` (a model's state dict) holds.

    A floating parameter must come from a floating tensor (a tensor relabelled ``F32 -> I32`` or cast to
    an integer type would otherwise be converted silently to garbage), an integer buffer from an integer
    tensor, and floating weights must be finite (NaN/inf weights give NaN outputs).

    Raises:
        CheckpointError: naming ``what``, the key, and what was expected.
    """
    import torch

    for key, ref in reference.items():
        t = state.get(key)
        if not isinstance(t, torch.Tensor) or not isinstance(ref, torch.Tensor):
            continue
        if ref.is_floating_point() != t.is_floating_point() or ref.is_complex() != t.is_complex():
            raise CheckpointError(
                f"weights of {what}: {key!r} has dtype {str(t.dtype).replace('torch.', '')}, expected a "
                f"{'floating' if ref.is_floating_point() else str(ref.dtype).replace('torch.', '')} tensor; "
                "the file is corrupt or was cast to another type"
            )
        if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"weights of {what}: {key!r} contains NaN or inf values; the checkpoint is "
                                  "broken (diverged training or a corrupt file)")


# ------------------------------------------------------------------------------------------ safetensors
def _fail(path: Path, message: str) -> CheckpointError:
    return CheckpointError(f"{path} is not a valid safetensors file: {message}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in the header")
        out[key] = value
    return out


def validate_safetensors(path: PathLike) -> dict[str, Any]:
    """Check a safetensors file's header without trusting it, before any tensor is read.

    Checks: file at least 8 bytes; the little-endian u64 header length is < 100 MB and fits in the
    file; the header is a UTF-8 JSON object without duplicate keys; ``__metadata__`` (optional) maps
    str to str; every tensor entry has a known ``dtype``, a ``shape`` of non-negative ints and
    ``data_offsets`` ``[begin, end]`` with ``end - begin == prod(shape) * itemsize``; sorted by offset
    the tensors start at 0, do not overlap, leave no hole and end exactly at the end of the file.
    Only the header is read (at most 100 MB, bounded by the file size), nothing is allocated from
    the claimed shapes.

    Args:
        path: the ``.safetensors`` file.

    Returns:
        The parsed header: ``{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: any check fails (the message names the file and the offending tensor).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"safetensors file {path} does not exist")
    file_size = path.stat().st_size
    if file_size < 8:
        raise _fail(path, f"file is {file_size} bytes, shorter than the 8-byte header length")
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n == 0:
            raise _fail(path, "header length is 0")
        if n > MAX_HEADER_BYTES:
            raise _fail(path, f"header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
        if 8 + n > file_size:
            raise _fail(path, f"header length {n} runs past the end of the {file_size}-byte file")
        raw = fh.read(n)
    if len(raw) != n:
        raise _fail(path, "file changed while reading the header")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise _fail(path, "header JSON is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(path, f"header is not valid UTF-8 JSON ({str(exc)[:200]})") from None
    if not isinstance(header, dict):
        raise _fail(path, "header is not a JSON object")

    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict)
                                 and all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())):
        raise _fail(path, "__metadata__ must map strings to strings")

    data_len = file_size - 8 - n
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise _fail(path, f"entry {name!r} is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPE_BITS:
            raise _fail(path, f"tensor {name!r} has unknown dtype {dtype!r}")
        if not (isinstance(shape, list)
                and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise _fail(path, f"tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            raise _fail(path, f"tensor {name!r} has invalid data_offsets {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end:
            raise _fail(path, f"tensor {name!r} has data_offsets {offsets} with begin > end or < 0")
        if end > data_len:
            raise _fail(path, f"tensor {name!r} ends at byte {end}, beyond the {data_len}-byte data "
                              "section (file truncated or offsets forged)")
        numel = 1
        for d in shape:
            numel *= d
        bits = numel * DTYPE_BITS[dtype]
        if bits % 8 or bits // 8 != end - begin:
            raise _fail(path, f"tensor {name!r}: shape {shape} x {dtype} needs {bits / 8:g} bytes but "
                              f"its offsets span {end - begin}")
        spans.append((begin, end, name))

    spans.sort()
    position, previous = 0, None
    for begin, end, name in spans:
        if begin < position:
            raise _fail(path, f"tensor {name!r} (bytes {begin}-{end}) overlaps {previous!r}")
        if begin > position:
            raise _fail(path, f"hole in the data section before tensor {name!r} "
                              f"(bytes {position}-{begin} belong to no tensor)")
        position, previous = end, name
    if position != data_len:
        raise _fail(path, f"tensors cover {position} bytes but the data section has {data_len}")
    return header


def load_safetensors(path: PathLike, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Validate (:func:`validate_safetensors`) and load a safetensors file.

    Args:
        path: the ``.safetensors`` file.
        device: where the tensors go (``"cpu"``, ``"cuda:0"``, ...).

    Returns:
        ``{name: tensor}``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the header is invalid or safetensors cannot read the file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    validate_safetensors(path)
    try:
        return load_file(path, device=device)
    except (SafetensorError, ValueError, TypeError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"cannot load {path} with safetensors: {exc}") from exc


def _prepare_tensors(state_dict: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Detach, move to CPU, make contiguous, and clone tensors that share memory with another."""
    import torch

    out: dict[str, torch.Tensor] = {}
    seen_storage: set[tuple[str, int]] = set()
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"state dict keys must be str, got {key!r}")
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"state dict entry {key!r} is a {type(value).__name__}, not a tensor")
        t = value.detach()
        storage_id = (str(t.device), t.untyped_storage().data_ptr()) if t.numel() else None
        shared = storage_id is not None and storage_id in seen_storage
        if storage_id is not None:
            seen_storage.add(storage_id)
        t = t.to("cpu")
        if shared or not t.is_contiguous():
            t = t.contiguous().clone()
        elif t.untyped_storage().nbytes() != t.numel() * t.element_size():
            t = t.clone()  # a view into a larger buffer: store only its own bytes
        out[key] = t
    return out


def save_safetensors(state_dict: Mapping[str, torch.Tensor], path: PathLike,
                     metadata: Mapping[str, str] | None = None) -> Path:
    """Atomically write ``state_dict`` as a safetensors file.

    Tensors are detached, moved to the CPU and made contiguous; tensors sharing memory with another
    entry (tied weights, views) are cloned so safetensors accepts them. The file is written to a
    temporary name in the target folder and ``os.replace``-d, so readers never see a partial file.

    Args:
        state_dict: ``{name: tensor}``.
        path: destination file (parent folders are created).
        metadata: optional ``__metadata__``; keys and values must be ``str``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: a key/value is not a str/tensor, or metadata is not str -> str.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if metadata is not None:
        bad = {k: v for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))}
        if bad:
            raise TypeError(f"safetensors metadata must be str -> str; offending entries: {bad!r} "
                            "(store JSON strings, keep the configuration in config.json)")
    tensors = _prepare_tensors(state_dict)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=dict(metadata) if metadata is not None else None)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, default_file_mode())  # mkstemp creates 0600; give what open() would (umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def default_file_mode() -> int:
    """``0o666`` minus the process umask: the mode ``open()`` would give a new file (``mkstemp`` gives 0600)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it (restored at once)
    os.umask(mask)
    return 0o666 & ~mask
