"""Training: one loop (:class:`Trainer`) for contrastive pretraining and localization finetuning.

``pretrain(PretrainConfig)`` and ``finetune(FinetuneConfig)`` are the entry points used by
``skelzoo pretrain --config FILE`` and ``skelzoo finetune --config FILE``; configs load from YAML/JSON with
:func:`load_config` (every hyper-parameter is a field; see ``examples/configs/``).
"""
from .finetune import EvalConfig as EvalConfig
from .finetune import FinetuneConfig as FinetuneConfig
from .finetune import FinetuneDataConfig as FinetuneDataConfig
from .finetune import FinetuneModelConfig as FinetuneModelConfig
from .finetune import evaluate_localizer as evaluate_localizer
from .finetune import finetune as finetune
from .finetune import load_pretrained_encoder as load_pretrained_encoder
from .pretrain import PretrainConfig as PretrainConfig
from .pretrain import PretrainDataConfig as PretrainDataConfig
from .pretrain import PretrainModelConfig as PretrainModelConfig
from .pretrain import pretrain as pretrain
from .trainer import OptimConfig as OptimConfig
from .trainer import RunConfig as RunConfig
from .trainer import Trainer as Trainer
from .trainer import apply_overrides as apply_overrides
from .trainer import config_to_dict as config_to_dict
from .trainer import load_config as load_config
from .trainer import lr_factor as lr_factor

__all__ = [
    "EvalConfig", "FinetuneConfig", "FinetuneDataConfig", "FinetuneModelConfig", "evaluate_localizer", "finetune",
    "load_pretrained_encoder", "PretrainConfig", "PretrainDataConfig", "PretrainModelConfig", "pretrain",
    "OptimConfig", "RunConfig", "Trainer", "apply_overrides", "config_to_dict", "load_config", "lr_factor",
]
