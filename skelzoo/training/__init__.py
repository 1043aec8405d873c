"""Training: one loop (:class:`Trainer`) for contrastive pretraining and localization finetuning.

``pretrain(PretrainConfig)`` and ``finetune(FinetuneConfig)`` are the entry points used by
``skelzoo pretrain --config FILE`` and ``skelzoo finetune --config FILE``; configs load from YAML/JSON with
:func:`load_config` (every hyper-parameter is a field; see ``examples/configs/``).
"""
from .finetune import (EvalConfig as EvalConfig, FinetuneConfig as FinetuneConfig,
                       FinetuneDataConfig as FinetuneDataConfig, FinetuneModelConfig as FinetuneModelConfig,
                       evaluate_localizer as evaluate_localizer, finetune as finetune,
                       load_pretrained_encoder as load_pretrained_encoder)
from .pretrain import (PretrainConfig as PretrainConfig, PretrainDataConfig as PretrainDataConfig,
                       PretrainModelConfig as PretrainModelConfig, pretrain as pretrain)
from .trainer import (OptimConfig as OptimConfig, RunConfig as RunConfig, Trainer as Trainer,
                      apply_overrides as apply_overrides, config_to_dict as config_to_dict,
                      load_config as load_config, lr_factor as lr_factor)

__all__ = [
    "EvalConfig", "FinetuneConfig", "FinetuneDataConfig", "FinetuneModelConfig", "evaluate_localizer", "finetune",
    "load_pretrained_encoder", "PretrainConfig", "PretrainDataConfig", "PretrainModelConfig", "pretrain",
    "OptimConfig", "RunConfig", "Trainer", "apply_overrides", "config_to_dict", "load_config", "lr_factor",
]
