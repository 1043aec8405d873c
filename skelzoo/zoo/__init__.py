"""Former home of the zoo API, kept as an alias: everything lives in :mod:`skelzoo.models` now."""
from ..models import WeightCfg as WeightCfg
from ..models import api as api
from ..models import build_model as build_model
from ..models import list_architectures as list_architectures
from ..models import list_models as list_models
from ..models import load_model as load_model
from ..models import model_info as model_info
from ..models import register_model as register_model
from ..models import save_pretrained as save_pretrained

__all__ = ["WeightCfg", "build_model", "list_architectures", "list_models", "load_model", "model_info",
           "register_model", "save_pretrained", "api"]
