"""Conversion of official / pyskl / mmaction2 checkpoints: an alias of the names in :mod:`skelzoo.models`."""
from ..models import Converter as Converter
from ..models import convert_checkpoint as convert_checkpoint
from ..models import list_converters as list_converters
from ..models import register_converter as register_converter
from ..models import to_skelzoo_state_dict as to_skelzoo_state_dict
from ..models import to_source_state_dict as to_source_state_dict
from ..models import unwrap_checkpoint as unwrap_checkpoint

__all__ = ["Converter", "convert_checkpoint", "list_converters", "register_converter", "to_skelzoo_state_dict",
           "to_source_state_dict", "unwrap_checkpoint"]
