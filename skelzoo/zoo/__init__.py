"""Registry, weights metadata, builder and the public zoo API."""
from ._builder import build_model as build_model
from ._registry import list_architectures as list_architectures
from ._registry import list_models as list_models
from ._registry import register_model as register_model
from ._weights import WeightCfg as WeightCfg
from .api import load_model as load_model
from .api import model_info as model_info
from .api import save_pretrained as save_pretrained
