"""Skeleton backbones, one architecture per file. Importing this package registers them all."""
import importlib as _importlib

# TODO(lead): replace by explicit imports once every family file exists (development-time tolerance).
for _name in ("stgcn", "stgcnpp", "agcn", "aagcn", "ctrgcn", "msg3d"):
    try:
        _importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _e:
        if _e.name != f"{__name__}.{_name}":
            raise
