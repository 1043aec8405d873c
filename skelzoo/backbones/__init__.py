"""Former home of the backbones, kept as an alias: the families live in :mod:`skelzoo.models` now."""
from ..models import Backbone as Backbone
from ..models import StageInfo as StageInfo
from ..models import aagcn as aagcn
from ..models import agcn as agcn
from ..models import ctrgcn as ctrgcn
from ..models import msg3d as msg3d
from ..models import stgcn as stgcn
from ..models import stgcnpp as stgcnpp

__all__ = ["Backbone", "StageInfo", "aagcn", "agcn", "ctrgcn", "msg3d", "stgcn", "stgcnpp"]
