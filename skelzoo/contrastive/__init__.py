"""Self-supervised pretraining of skeleton encoders: MoCo core, SkeletonCLR and SnipCLR snippet contrast.

``SnipCLR(backbone="agcn_loc")`` is the paper's pretraining model (docs/method.md §3; the AimCLR/RVTCLR "DC"
branch is not implemented); ``SkeletonCLR`` is the global instance-contrast baseline. Both work with any
registered skelzoo backbone through ``forward_features``. Views come from :mod:`skelzoo.data.augment`;
the training loop is :mod:`skelzoo.training.pretrain`.
"""
from .moco import EmbeddingQueue as EmbeddingQueue
from .moco import MomentumPair as MomentumPair
from .moco import concat_all_gather as concat_all_gather
from .moco import info_nce as info_nce
from .moco import init_moco_weights as init_moco_weights
from .moco import momentum_update as momentum_update
from .moco import multi_positive_nce as multi_positive_nce
from .skeletonclr import ContrastiveEncoder as ContrastiveEncoder
from .skeletonclr import SkeletonCLR as SkeletonCLR
from .snippet import SnipCLR as SnipCLR
from .snippet import SnippetHead as SnippetHead
from .snippet import snippet_correspondence as snippet_correspondence
from .snippet import snippet_nce as snippet_nce

__all__ = [
    "EmbeddingQueue", "MomentumPair", "concat_all_gather", "info_nce", "init_moco_weights", "momentum_update",
    "multi_positive_nce", "ContrastiveEncoder", "SkeletonCLR", "SnipCLR", "SnippetHead",
    "snippet_correspondence", "snippet_nce",
]
