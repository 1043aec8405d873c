"""skelzoo: a PyTorch model zoo for skeleton-based action understanding and localization.

Public API (see CONTRACT.md): ``list_models``, ``model_info``, ``load_model``, ``save_pretrained``,
``convert_checkpoint``, ``read_skeleton``, ``SkeletonSequence``, ``FormatError``; and the weights'
preprocessing: ``prepare(seq, model)`` (``model.input_spec``, an ``InputSpec``), ``extract_features``; and
``cached_weights(model)``, a block in which repeated inference calls reuse the weights the fast paths derive.

``import skelzoo`` does not import torch (issue #9: import under 1 s): every name except ``__version__`` and
the errors is resolved on first use (PEP 562 module ``__getattr__``). ``skelzoo.read_skeleton`` and
``skelzoo.SkeletonSequence`` stay torch-free; the model API (``load_model`` ...) imports torch and
:mod:`skelzoo.models`, whose import registers the built-in architectures.
"""
import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

from .errors import FormatError as FormatError  # noqa: E402  (torch-free, imported eagerly)
from .errors import InputWarning as InputWarning  # noqa: E402
from .errors import SkelzooError as SkelzooError  # noqa: E402

if _typing.TYPE_CHECKING:  # the real imports, for type checkers and IDEs; at run time __getattr__ resolves them
    from . import backbones as backbones
    from . import convert as convert
    from . import io as io
    from . import models as models
    from . import zoo as zoo
    from .blocks.derived import cached_weights as cached_weights
    from .io import SkeletonSequence as SkeletonSequence
    from .io import read_skeleton as read_skeleton
    from .localization.input_spec import InputSpec as InputSpec
    from .localization.input_spec import prepare as prepare
    from .localization.pipeline import extract_features as extract_features
    from .models import build_model as build_model
    from .models import convert_checkpoint as convert_checkpoint
    from .models import list_models as list_models
    from .models import load_model as load_model
    from .models import model_info as model_info
    from .models import register_model as register_model
    from .models import save_pretrained as save_pretrained

__all__ = [
    "__version__", "FormatError", "SkelzooError", "InputWarning", "SkeletonSequence", "build_model",
    "convert_checkpoint", "list_models", "load_model", "model_info", "read_skeleton", "register_model",
    "save_pretrained", "prepare", "InputSpec", "extract_features", "cached_weights",
]

# public name -> module that defines it
_LAZY_ATTRS: dict[str, str] = {
    "SkeletonSequence": "skelzoo.io",
    "read_skeleton": "skelzoo.io",
    "build_model": "skelzoo.models",
    "list_models": "skelzoo.models",
    "load_model": "skelzoo.models",
    "model_info": "skelzoo.models",
    "register_model": "skelzoo.models",
    "save_pretrained": "skelzoo.models",
    "convert_checkpoint": "skelzoo.models",
    "prepare": "skelzoo.localization.input_spec",
    "InputSpec": "skelzoo.localization.input_spec",
    "extract_features": "skelzoo.localization.pipeline",
    "cached_weights": "skelzoo.blocks.derived",
}
# submodules reachable as attributes (``skelzoo.zoo``, ``skelzoo.io`` ...) without importing them first
_SUBMODULES = frozenset({
    "backbones", "blocks", "cli", "convert", "data", "dataset_info", "errors", "evaluation", "export", "graphs",
    "heads", "hub", "io", "layouts", "localization", "models", "necks", "contrastive", "runtime", "training", "viz",
    "zoo",
})


def __getattr__(name: str) -> object:
    # importing skelzoo.models registers every built-in architecture with its weights and converters
    if name in _LAZY_ATTRS:
        value = getattr(_importlib.import_module(_LAZY_ATTRS[name]), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # resolved once: later accesses do not come here
    return value


def __dir__() -> list[str]:
    public = {n for n in globals() if not n.startswith("_") or n.startswith("__")}  # not this module's helpers
    return sorted(public | set(__all__) | _SUBMODULES)
