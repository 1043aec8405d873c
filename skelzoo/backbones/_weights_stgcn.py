"""Published ST-GCN checkpoints (``stgcn.<tag>``): pyskl / mmaction2 re-trainings on NTU RGB+D 3D joints.

Converted on first use from the original ``.pth`` (converters ``("stgcn", "pyskl"|"mmaction2")``); the model
is ST-GCN with the pyskl hand topology (``layout="ntu25_pyskl"``, VC data-BN, edge importance). Numbers
are the top-1 accuracies published next to each file (10-clip test). No tag is marked ``default``: until
skelzoo publishes its own weights, ``stgcn`` with ``pretrained=True`` falls back to the first tag below
(mmaction2, whose file name carries a sha256 prefix that is checked).
"""
from __future__ import annotations

from ..datasets_meta import (NTU60_CLASSES, NTU60_XSUB, NTU120_CLASSES, NTU120_XSUB, NTU_TERMS)
from ..zoo._weights import WeightCfg

__all__ = ["STGCN_WEIGHTS", "STGCN_SSL_WEIGHTS"]

_MMA = "https://download.openmmlab.com/mmaction/v1.0/skeleton/stgcn"
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/stgcn"
_PAPER = ("Yan, Xiong, Lin, Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action "
          "Recognition, AAAI 2018; training recipe: Duan et al., PYSKL, ACM MM 2022")
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 64, "num_classes": 60,
           "edge_importance": True, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}

STGCN_WEIGHTS = (
    WeightCfg(
        tag="mmaction2_ntu60_xsub_3d_joint",
        url=f"{_MMA}/stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20221129-850308e1.pth",
        hash_prefix="850308e1", convert_source="mmaction2",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcn/metafile.yml "
               "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 850308e1 from the file name)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 88.11}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="mmaction2 STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 80 epochs x 8 GPUs, batch "
                    "16, uniform 100 frames; top-1 88.11 (10 clips) as published in the metafile."),
    WeightCfg(
        tag="mmaction2_ntu120_xsub_3d_joint",
        url=f"{_MMA}/stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-3d/"
            "stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-3d_20221129-0484f579.pth",
        hash_prefix="0484f579", convert_source="mmaction2",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcn/metafile.yml "
               "stgcn_8xb16-joint-u100-80e_ntu120-xsub-keypoint-3d (sha256 prefix 0484f579 from the file name)",
        dataset=f"{NTU120_XSUB} (3D joint)", metrics={"top1": 82.15}, class_names=NTU120_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS120, paper=_PAPER,
        description="mmaction2 STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 80 epochs x 8 GPUs, batch "
                    "16, uniform 100 frames; top-1 82.15 (10 clips) as published in the metafile."),
    WeightCfg(
        tag="pyskl_ntu60_xsub_3d_joint",
        url=f"{_PYSKL}/stgcn_pyskl_ntu60_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/stgcn/README.md, PYSKL practice, stgcn_pyskl_ntu60_xsub_3dkp/j.pth "
               "(plain http, no published hash: the download cannot be verified)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 87.8}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="pyskl STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 'PYSKL practice' recipe; top-1 "
                    "87.8 as published in the README. No checksum is published for this file."),
    WeightCfg(
        tag="pyskl_ntu120_xsub_3d_joint",
        url=f"{_PYSKL}/stgcn_pyskl_ntu120_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/stgcn/README.md, PYSKL practice, stgcn_pyskl_ntu120_xsub_3dkp/j.pth "
               "(plain http, no published hash: the download cannot be verified)",
        dataset=f"{NTU120_XSUB} (3D joint)", metrics={"top1": 82.1}, class_names=NTU120_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS120, paper=_PAPER,
        description="pyskl STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 'PYSKL practice' recipe; top-1 "
                    "82.1 as published in the README. No checksum is published for this file."),
)


# ------------------------------------------------------------------------------------------- stgcn_ssl
#: skelzoo's own self-supervised encoders (docs/results.md), the quarter-width ST-GCN of SkeletonCLR.
#: ``snipclr_bandai``: the second pretraining recipe (in-batch negatives, cosine snippet matching, body-size
#: normalisation) on every Bandai-Namco clip + composed sequence of the training styles except the validation
#: style; ``metrics`` are frozen-feature probes (top-1 %, 10 dataset-2 actions, one centred 96-frame window per
#: clip; validation style ``exhausted``; test = the unseen styles, measured once).
#: ``skeletonclr_bandai``: the first recipe's global-contrast-only baseline of the ablation (its ``metrics`` are
#: the ablation table's means over the finetuning seeds of the U-fusion localizers built on it).
_BANDAI_TERMS = "CC-BY-NC-4.0"
_SSL_ARGS = {"num_classes": 0, "num_person": 1}
_SSL_PAPER = ("Cheng et al., Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action "
              "Localization, arXiv 2512.16504 (ICPR 2026); encoder: Li et al., SkeletonCLR, CVPR 2021")
_SSL_DATA = "Bandai-Namco untrimmed (skelzoo), train split (372 sequences, labels unused)"
_SSL_SOURCE = ("trained by skelzoo: skelzoo pretrain --config examples/configs/ablation/pretrain.yaml "
               "--set model.method={method} (30 epochs, 96-frame clips, queue 256, seed 0, CPU); docs/results.md")
_SSL2_DATA = ("Bandai-Namco motion datasets 1+2 (skelzoo): every clip and the composed untrimmed sequences of the "
              "training styles except the validation style exhausted (labels unused)")
_SSL2_SOURCE = ("trained by skelzoo: skelzoo pretrain --config examples/configs/ablation/pretrain_v2.yaml "
                "(second recipe: in-batch negatives, cosine snippet matching, body-size normalisation; 10 epochs, "
                "96-frame windows, seed 0, CPU; epoch chosen by the validation kNN probe); docs/results.md")

STGCN_SSL_WEIGHTS = (
    WeightCfg(
        tag="snipclr_bandai",
        file="stgcn_ssl.snipclr_bandai.safetensors",
        sha256="805264ee6d396c8f77b98fcdd62b9cde5a29e3d0cdf7594e5cb76571e7f45b76",
        license=_BANDAI_TERMS, source=_SSL2_SOURCE, dataset=_SSL2_DATA,
        eval_dataset="Bandai-Namco clips (skelzoo), validation style exhausted and unseen test styles elderly+youthful",
        metrics={"val_knn1_top1": 53.82, "val_linear_probe_top1": 61.19, "test_knn1_top1": 47.69,
                 "test_linear_probe_top1": 52.73},
        layout="ntu25", in_channels=3, num_person=1, fps=30.0, preprocess="ntu_bodysize", model_args=_SSL_ARGS,
        paper=_SSL_PAPER, default=True,
        description="quarter-width ST-GCN encoder (256-d features per frame at 1/4 frame rate), SkeletonCLR "
                    "global contrast + SnipCLR snippet contrast (12 snippets), second recipe, on Bandai-Namco mocap"),
    WeightCfg(
        tag="skeletonclr_bandai",
        file="stgcn_ssl.skeletonclr_bandai.safetensors",
        sha256="639450a2ab8a55ae99ed6c86aa5d0a371d1257e9b0edcd7ac456ec0ac743db33",
        license=_BANDAI_TERMS, source=_SSL_SOURCE.format(method="skeletonclr"), dataset=_SSL_DATA,
        eval_dataset="Bandai-Namco untrimmed (skelzoo), test styles elderly+youthful (localizers built on it)",
        metrics={'linear_ufusion_mAP_clean_avg': 17.02, 'finetune_ufusion_mAP_clean_avg': 24.32, 'semi_ufusion_mAP_clean_avg': 21.04},  # METRICS:skeletonclr
        layout="ntu25", in_channels=3, num_person=1, fps=30.0, preprocess="ntu", model_args=_SSL_ARGS,
        paper=_SSL_PAPER,
        description="quarter-width ST-GCN encoder, SkeletonCLR global contrast only (the first recipe's ablation "
                    "baseline: its features carry less action content than a random encoder's, see docs/results.md), "
                    "on Bandai-Namco mocap"),
)
