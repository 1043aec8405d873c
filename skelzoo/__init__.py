"""skelzoo: a PyTorch model zoo for skeleton-based action understanding and localization.

Public API (see CONTRACT.md): ``list_models``, ``model_info``, ``load_model``, ``save_pretrained``,
``convert_checkpoint``, ``read_skeleton``, ``SkeletonSequence``, ``FormatError``.
"""
__version__ = "0.1.0"

from .errors import FormatError as FormatError
from .errors import SkelzooError as SkelzooError
from . import backbones as backbones  # noqa: F401  (registers the backbones)
from . import localizers as localizers  # noqa: F401  (registers <backbone>_ufusion / _simple localizers)
from .convert import convert_checkpoint as convert_checkpoint
from .io import SkeletonSequence as SkeletonSequence
from .io import read_skeleton as read_skeleton
from .zoo import build_model as build_model
from .zoo import list_models as list_models
from .zoo import load_model as load_model
from .zoo import model_info as model_info
from .zoo import register_model as register_model
from .zoo import save_pretrained as save_pretrained

__all__ = [
    "__version__", "FormatError", "SkelzooError", "SkeletonSequence", "build_model", "convert_checkpoint",
    "list_models", "load_model", "model_info", "read_skeleton", "register_model", "save_pretrained",
]
