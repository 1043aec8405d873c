"""Conversion of official / pyskl / mmaction2 checkpoints into skelzoo models."""
from ._core import Converter as Converter
from ._core import convert_checkpoint as convert_checkpoint
from ._core import list_converters as list_converters
from ._core import register_converter as register_converter
from ._core import to_skelzoo_state_dict as to_skelzoo_state_dict
from ._core import to_source_state_dict as to_source_state_dict
from ._core import unwrap_checkpoint as unwrap_checkpoint
