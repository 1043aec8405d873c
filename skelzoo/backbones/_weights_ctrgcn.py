"""Published pyskl-variant CTR-GCN checkpoints (``ctrgcn_pyskl.<tag>``), NTU RGB+D 3D joints.

pyskl's and mmaction2's CTRGCN (row = source aggregation, ReLU after the MS-TCN concat, pyskl hands) is
:func:`~skelzoo.backbones.ctrgcn.ctrgcn_pyskl`, not the official :func:`~skelzoo.backbones.ctrgcn.ctrgcn`
(backbones.md §5.2). Converted on first use (converters ``("ctrgcn_pyskl", "pyskl"|"mmaction2")``). Numbers
are the published top-1 accuracies (10-clip test). No tag is marked ``default``: until skelzoo publishes its
own weights, ``ctrgcn_pyskl`` with ``pretrained=True`` falls back to the first tag below (mmaction2, sha256
prefix checked).
"""
from __future__ import annotations

from ..datasets_meta import (NTU60_CLASSES, NTU60_XSUB, NTU120_CLASSES, NTU120_XSUB, NTU_TERMS)
from ..zoo._weights import WeightCfg

__all__ = ["CTRGCN_PYSKL_WEIGHTS"]

_PAPER = ("Chen et al., Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action "
          "Recognition, ICCV 2021")
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/ctrgcn"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 64, "num_classes": 60, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}

CTRGCN_PYSKL_WEIGHTS = (
    WeightCfg(
        tag="mmaction2_ntu60_xsub_3d_joint",
        url="https://download.openmmlab.com/mmaction/v1.0/projects/ctrgcn/"
            "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20230308-950dca0a.pth",
        hash_prefix="950dca0a", convert_source="mmaction2",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="open-mmlab/mmaction2 1.x, projects/ctrgcn/README.md "
               "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 950dca0a from the file name)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 89.0}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="mmaction2 projects/ctrgcn CTRGCN + GCNHead, 8 GPUs, uniform 100 frames; top-1 89.0 "
                    "(10 clips) as published in the project README."),
    WeightCfg(
        tag="pyskl_ntu60_xsub_3d_joint",
        url=f"{_PYSKL}/ctrgcn_pyskl_ntu60_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/ctrgcn/README.md, ctrgcn_pyskl_ntu60_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 89.6}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="pyskl CTRGCN + GCNHead; top-1 89.6 as published in the README. No checksum is published "
                    "for this file."),
    WeightCfg(
        tag="pyskl_ntu120_xsub_3d_joint",
        url=f"{_PYSKL}/ctrgcn_pyskl_ntu120_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/ctrgcn/README.md, ctrgcn_pyskl_ntu120_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        dataset=f"{NTU120_XSUB} (3D joint)", metrics={"top1": 84.0}, class_names=NTU120_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS120, paper=_PAPER,
        description="pyskl CTRGCN + GCNHead; top-1 84.0 as published in the README. No checksum is published "
                    "for this file."),
)
