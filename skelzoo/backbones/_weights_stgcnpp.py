"""Published ST-GCN++ checkpoints (``stgcnpp.<tag>``): pyskl / mmaction2, NTU RGB+D 3D joints.

Converted on first use from the original ``.pth`` (converters ``("stgcnpp", "pyskl"|"mmaction2")``). Numbers
are the top-1 accuracies published next to each file (10-clip test). No tag is marked ``default``: until
skelzoo publishes its own weights, ``stgcnpp`` with ``pretrained=True`` falls back to the first tag below
(mmaction2, whose file name carries a sha256 prefix that is checked).
"""
from __future__ import annotations

from ..datasets_meta import (NTU60_CLASSES, NTU60_XSUB, NTU120_CLASSES, NTU120_XSUB, NTU_TERMS)
from ..zoo._weights import WeightCfg

__all__ = ["STGCNPP_WEIGHTS"]

_PAPER = "Duan, Wang, Chen, Lin, PYSKL: Towards Good Practices for Skeleton Action Recognition, ACM MM 2022"
_PYSKL = "http://download.openmmlab.com/mmaction/pyskl/ckpt/stgcnpp"
_ARGS60 = {"layout": "ntu25_pyskl", "in_channels": 3, "base_channels": 64, "num_classes": 60, "num_person": 2}
_ARGS120 = {**_ARGS60, "num_classes": 120}
_PYSKL_SRC = ("kennymckormick/pyskl configs/stgcn++/README.md, {name}/j.pth (plain http, no published hash: "
              "the download cannot be verified; older README revisions spell the folder stgcn++/stgcn++_...)")

STGCNPP_WEIGHTS = (
    WeightCfg(
        tag="mmaction2_ntu60_xsub_3d_joint",
        url="https://download.openmmlab.com/mmaction/v1.0/skeleton/stgcnpp/"
            "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
            "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20221230-4e455ce3.pth",
        hash_prefix="4e455ce3", convert_source="mmaction2",
        license=f"Apache-2.0; {NTU_TERMS}",
        source="open-mmlab/mmaction2 1.x, configs/skeleton/stgcnpp/metafile.yml "
               "stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d (sha256 prefix 4e455ce3 from the file name)",
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 89.14}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="mmaction2 STGCN(gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn', graph nturgb+d / "
                    "spatial) + GCNHead, 80 epochs x 8 GPUs, uniform 100 frames; top-1 89.14 (10 clips) as "
                    "published in the metafile."),
    WeightCfg(
        tag="pyskl_ntu60_xsub_3d_joint",
        url=f"{_PYSKL}/stgcnpp_ntu60_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source=_PYSKL_SRC.format(name="stgcnpp_ntu60_xsub_3dkp"),
        dataset=f"{NTU60_XSUB} (3D joint)", metrics={"top1": 89.3}, class_names=NTU60_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS60, paper=_PAPER,
        description="pyskl STGCN++ + GCNHead; top-1 89.3 as published in the README. No checksum is "
                    "published for this file."),
    WeightCfg(
        tag="pyskl_ntu120_xsub_3d_joint",
        url=f"{_PYSKL}/stgcnpp_ntu120_xsub_3dkp/j.pth",
        convert_source="pyskl",
        license=f"Apache-2.0; {NTU_TERMS}",
        source=_PYSKL_SRC.format(name="stgcnpp_ntu120_xsub_3dkp"),
        dataset=f"{NTU120_XSUB} (3D joint)", metrics={"top1": 83.2}, class_names=NTU120_CLASSES,
        layout="ntu25_pyskl", in_channels=3, num_person=2, fps=30.0, preprocess="pyskl_ntu3d",  # NTU: 30 fps
        model_args=_ARGS120, paper=_PAPER,
        description="pyskl STGCN++ + GCNHead; top-1 83.2 as published in the README. No checksum is "
                    "published for this file."),
)
