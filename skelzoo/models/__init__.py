"""The model zoo: every architecture family, its weights and converters, one registry and one builder.

Layout (one architecture family per file, timm-style): blocks only that family uses, the model class, its
checkpoint converters, its weight table (``arch.tag`` records) and the ``@register_model`` builders.

- :mod:`.stgcn`, :mod:`.stgcnpp`, :mod:`.agcn`, :mod:`.aagcn`, :mod:`.ctrgcn`, :mod:`.msg3d`: the backbones;
- :mod:`.localizers`: ``<backbone>_ufusion`` / ``<backbone>_simple`` localizers built on every backbone above
  (so it is imported after them), the SnipCLR converter and the bundled localizer weights;
- :mod:`.snipclr_families`: the snippet-contrast encoder / localizer pairs of every family (the backbone
  comparison), registered from the manifest that ``scripts/family_campaign.py`` writes;
- ``_registry`` (entries carry their weights and converters), ``_weights`` (:class:`WeightCfg`),
  ``_convert`` (state-dict mapping), ``_builder`` (build, verify, load, convert, adapt the head), ``_base``
  (the backbone interface), :mod:`.api` (the public functions) and :mod:`.published_cards` (``model_cards/``).

Importing this package registers every built-in model: there is no other registration step.
"""
# the order matters: the backbone families register first, the localizers (one per backbone) last
from . import stgcn as stgcn  # noqa: I001
from . import stgcnpp as stgcnpp
from . import agcn as agcn
from . import aagcn as aagcn
from . import ctrgcn as ctrgcn
from . import msg3d as msg3d
from . import localizers as localizers
from . import snipclr_families as snipclr_families
from ._base import Backbone as Backbone
from ._base import StageInfo as StageInfo
from ._builder import adapt_head as adapt_head
from ._builder import build_model as build_model
from ._builder import convert_checkpoint as convert_checkpoint
from ._convert import SOURCES as SOURCES
from ._convert import Converter as Converter
from ._convert import to_skelzoo_state_dict as to_skelzoo_state_dict
from ._convert import to_source_state_dict as to_source_state_dict
from ._convert import unwrap_checkpoint as unwrap_checkpoint
from ._registry import ModelEntry as ModelEntry
from ._registry import checkpoint_task as checkpoint_task
from ._registry import get_converter as get_converter
from ._registry import get_entry as get_entry
from ._registry import get_weights as get_weights
from ._registry import list_architectures as list_architectures
from ._registry import list_converters as list_converters
from ._registry import list_models as list_models
from ._registry import register_converter as register_converter
from ._registry import register_model as register_model
from ._registry import split_name as split_name
from ._weights import WeightCfg as WeightCfg
from ._weights import ntu_checkpoint as ntu_checkpoint
from .api import CARD_NAME as CARD_NAME
from .api import CONFIG_NAME as CONFIG_NAME
from .api import WEIGHTS_NAME as WEIGHTS_NAME
from .api import load_model as load_model
from .api import model_fps as model_fps
from .api import model_info as model_info
from .api import save_pretrained as save_pretrained
from .localizers import BANDAI_CLASSES as BANDAI_CLASSES
from .localizers import DEFAULT_LOCALIZER as DEFAULT_LOCALIZER
from .localizers import DEFAULT_LOCALIZER_2D as DEFAULT_LOCALIZER_2D
from .localizers import build_localizer as build_localizer

__all__ = [
    "Backbone", "StageInfo", "ModelEntry", "WeightCfg", "Converter", "SOURCES", "adapt_head", "build_model",
    "convert_checkpoint", "to_skelzoo_state_dict", "to_source_state_dict", "unwrap_checkpoint", "get_converter",
    "checkpoint_task", "get_entry", "get_weights", "list_architectures", "list_converters", "list_models",
    "register_converter", "register_model", "split_name", "ntu_checkpoint", "load_model", "model_fps", "model_info",
    "save_pretrained", "CARD_NAME", "CONFIG_NAME", "WEIGHTS_NAME", "BANDAI_CLASSES", "DEFAULT_LOCALIZER",
    "DEFAULT_LOCALIZER_2D", "build_localizer",
]
