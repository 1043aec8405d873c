"""Published pyskl-variant MS-G3D checkpoints (``msg3d_pyskl.<tag>``), NTU RGB+D 3D joints.

pyskl's and mmaction2's MSG3D (column-normalised scales of the pyskl hands, row = source, graphs stored) is
:func:`~skelzoo.backbones.msg3d.msg3d_pyskl`, not the official :func:`~skelzoo.backbones.msg3d.msg3d`.
Converted on first use (converters ``("msg3d_pyskl", "pyskl"|"mmaction2")``). Numbers are the published
top-1 accuracies (10-clip test). No tag is marked ``default``: until skelzoo publishes its own weights,
``msg3d_pyskl`` with ``pretrained=True`` falls back to the first tag below (mmaction2, sha256 prefix checked).
"""
from __future__ import annotations

from ..datasets_meta import (NTU60_CLASSES, NTU60_XSUB, NTU120_CLASSES, NTU120_XSUB, NTU_TERMS)
from ..zoo._weights import WeightCfg

__all__ = ["MSG3D_PYSKL_WEIGHTS"]

_PAPER = ("Liu et al., Disentangling and Unifying Graph Convolutions for Skeleton-Based Action Recognition, "
          "CVPR 2020")
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/msg3d"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 96, "num_gcn_scales": 13,
           "num_g3d_scales": 6, "num_classes": 60, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}

MSG3D_PYSKL_WEIGHTS = (
    WeightCfg(
        tag="mmaction2_ntu60_xsub_3d_joint",
        url="https://download.openmmlab.com/mmaction/v1.0/projects/msg3d/"
            "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20230308-c325d222.pth",
        hash_prefix="c325d222", convert_source="mmaction2",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="open-mmlab/mmaction2 1.x, projects/msg3d/README.md "
               "msg3d_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix c325d222 from the file name)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 89.6}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="mmaction2 projects/msg3d MSG3D + GCNHead, 8 GPUs, uniform 100 frames; top-1 89.6 "
                    "(10 clips) as published in the project README."),
    WeightCfg(
        tag="pyskl_ntu60_xsub_3d_joint",
        url=f"{_PYSKL}/msg3d_pyskl_ntu60_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/msg3d/README.md, msg3d_pyskl_ntu60_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 89.6}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="pyskl MSG3D + GCNHead; top-1 89.6 as published in the README. No checksum is published "
                    "for this file."),
    WeightCfg(
        tag="pyskl_ntu120_xsub_3d_joint",
        url=f"{_PYSKL}/msg3d_pyskl_ntu120_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/msg3d/README.md, msg3d_pyskl_ntu120_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        dataset=f"{NTU120_XSUB} (3D joint)", metrics={"top1": 84.0}, class_names=NTU120_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS120, paper=_PAPER,
        description="pyskl MSG3D + GCNHead; top-1 84.0 as published in the README. No checksum is published "
                    "for this file."),
)
