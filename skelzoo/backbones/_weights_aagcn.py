"""Published AAGCN checkpoints (``aagcn.<tag>``): pyskl AAGCN and mmaction2 "2s-AGCN", NTU RGB+D 3D joints.

mmaction2's "2s-agcn" configs are ``AAGCN(gcn_attention=False)`` (the attention module is switched off), so
they are registered here with ``attention=False``; pyskl's AAGCN keeps the attention. Both use the pyskl
hand topology (``layout="ntu25_pyskl"``, MVC data-BN). Converted on first use (converters
``("aagcn", "pyskl"|"mmaction2")``). Numbers are the published top-1 accuracies (10-clip test). No tag is
marked ``default``: until skelzoo publishes its own weights, ``aagcn`` with ``pretrained=True`` falls back to
the first tag below (mmaction2, sha256 prefix checked) -- note that it is the attention-free variant.
"""
from __future__ import annotations

from ..datasets_meta import (NTU60_CLASSES, NTU60_XSUB, NTU120_CLASSES, NTU120_XSUB, NTU_TERMS)
from ..zoo._weights import WeightCfg

__all__ = ["AAGCN_WEIGHTS"]

_PAPER = ("Shi, Zhang, Cheng, Lu, Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph "
          "Convolutional Networks, TIP 2020 (2s-AGCN: CVPR 2019)")
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/aagcn"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "num_classes": 60, "num_person": 2, "attention": True}
_ARGS120 = {**_ARGS60, "num_classes": 120}

AAGCN_WEIGHTS = (
    WeightCfg(
        tag="mmaction2_ntu60_xsub_3d_joint",
        url="https://download.openmmlab.com/mmaction/v1.0/skeleton/2s-agcn/"
            "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20221222-24dabf78.pth",
        hash_prefix="24dabf78", convert_source="mmaction2",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/2s-agcn/metafile.yml "
               "2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 24dabf78 from the file name)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 88.26}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args={**_ARGS60, "attention": False}, paper=_PAPER,
        description="mmaction2 '2s-AGCN' = AAGCN(gcn_attention=False), graph nturgb+d / spatial, + GCNHead, "
                    "80 epochs x 8 GPUs, uniform 100 frames; one stream (joint) of 2s-AGCN; top-1 88.26 "
                    "(10 clips) as published in the metafile."),
    WeightCfg(
        tag="pyskl_ntu60_xsub_3d_joint",
        url=f"{_PYSKL}/aagcn_pyskl_ntu60_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/aagcn/README.md, aagcn_pyskl_ntu60_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 89.0}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="pyskl AAGCN (with attention), graph nturgb+d / spatial, + GCNHead; joint stream of "
                    "MS-AAGCN; top-1 89.0 as published in the README. No checksum is published for this file."),
    WeightCfg(
        tag="pyskl_ntu120_xsub_3d_joint",
        url=f"{_PYSKL}/aagcn_pyskl_ntu120_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="kennymckormick/pyskl configs/aagcn/README.md, aagcn_pyskl_ntu120_xsub_3dkp/j.pth (plain http, "
               "no published hash: the download cannot be verified)",
        dataset=f"{NTU120_XSUB} (3D joint)", metrics={"top1": 82.8}, class_names=NTU120_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS120, paper=_PAPER,
        description="pyskl AAGCN (with attention), graph nturgb+d / spatial, + GCNHead; joint stream of "
                    "MS-AAGCN; top-1 82.8 as published in the README. No checksum is published for this file."),
)
