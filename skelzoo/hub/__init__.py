"""Downloading, caching and safely loading weights.

- :mod:`skelzoo.hub.cache`: skelzoo's own cache for URL downloads and converted checkpoints
  (:func:`download_url`, :func:`cached_conversion`, :func:`cache_dir`).
- :mod:`skelzoo.hub.hf`: the Hugging Face Hub (:func:`hf_download`, :func:`hf_model_dir`,
  :func:`push_to_hub`, :func:`parse_hf_name`).
- :mod:`skelzoo.hub.safe_load`: validated safetensors and ``weights_only`` pickles.

Importing this package is cheap: ``requests``, ``tqdm``, ``filelock``, ``huggingface_hub``,
``safetensors`` and ``torch`` are imported inside the functions that need them.
"""
from __future__ import annotations

from skelzoo.hub.cache import (
    cache_dir as cache_dir,
)
from skelzoo.hub.cache import (
    cached_conversion as cached_conversion,
)
from skelzoo.hub.cache import (
    download_url as download_url,
)
from skelzoo.hub.cache import (
    hash_prefix_from_name as hash_prefix_from_name,
)
from skelzoo.hub.cache import (
    is_offline as is_offline,
)
from skelzoo.hub.cache import (
    sha256_file as sha256_file,
)
from skelzoo.hub.cache import (
    url_cache_path as url_cache_path,
)
from skelzoo.hub.hf import (
    hf_download as hf_download,
)
from skelzoo.hub.hf import (
    hf_model_dir as hf_model_dir,
)
from skelzoo.hub.hf import (
    list_upload_files as list_upload_files,
)
from skelzoo.hub.hf import (
    parse_hf_name as parse_hf_name,
)
from skelzoo.hub.hf import (
    push_to_hub as push_to_hub,
)
from skelzoo.hub.safe_load import (
    load_safetensors as load_safetensors,
)
from skelzoo.hub.safe_load import (
    load_torch_checkpoint as load_torch_checkpoint,
)
from skelzoo.hub.safe_load import (
    save_safetensors as save_safetensors,
)
from skelzoo.hub.safe_load import (
    validate_safetensors as validate_safetensors,
)

__all__ = [
    "cache_dir", "cached_conversion", "download_url", "hash_prefix_from_name", "is_offline",
    "sha256_file", "url_cache_path", "hf_download", "hf_model_dir", "list_upload_files",
    "parse_hf_name", "push_to_hub", "load_safetensors", "load_torch_checkpoint", "save_safetensors",
    "validate_safetensors",
]
