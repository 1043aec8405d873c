"""Published ST-GCN checkpoints (``stgcn.<tag>``): pyskl / mmaction2 re-trainings on NTU RGB+D 3D joints.

Converted on first use from the original ``.pth`` (converters ``("stgcn", "pyskl"|"mmaction2")``); the model
is ST-GCN with the pyskl hand topology (``layout="ntu25_pyskl"``, VC data-BN, edge importance). Numbers
are the top-1 accuracies published next to each file (10-clip test). No tag is marked ``default``: until
skelzoo publishes its own weights, ``stgcn`` with ``pretrained=True`` falls back to the first tag below
(mmaction2, whose file name carries a sha256 prefix that is checked).
"""
from __future__ import annotations

from ..datasets_meta import (NTU60_CLASSES, NTU60_XSUB, NTU120_CLASSES, NTU120_XSUB, NTU_TERMS,
                             PYSKL_NTU3D_PREPROCESS)
from ..zoo._weights import WeightCfg

__all__ = ["STGCN_WEIGHTS"]

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
        layout="ntu25_pyskl", in_channels=3, num_person=2, preprocess=PYSKL_NTU3D_PREPROCESS,
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
        layout="ntu25_pyskl", in_channels=3, num_person=2, preprocess=PYSKL_NTU3D_PREPROCESS,
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
        layout="ntu25_pyskl", in_channels=3, num_person=2, preprocess=PYSKL_NTU3D_PREPROCESS,
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
        layout="ntu25_pyskl", in_channels=3, num_person=2, preprocess=PYSKL_NTU3D_PREPROCESS,
        model_args=_ARGS120, paper=_PAPER,
        description="pyskl STGCN (graph nturgb+d / stgcn_spatial) + GCNHead, 'PYSKL practice' recipe; top-1 "
                    "82.1 as published in the README. No checksum is published for this file."),
)
