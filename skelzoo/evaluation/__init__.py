"""Evaluation metrics: segment mAP (localization) and frame accuracy / F1@k / edit (segmentation).

Pure numpy. Segment mAP has two IoU protocols, ``"clean"`` (default, exact frame sets) and ``"line"``
(the official LINE / SnipCLR frame-offset quirk); results record which one was used.
"""
from .segment_map import (
    DEFAULT_TIOU_THRESHOLDS,
    PROTOCOLS,
    SegmentMAPResult,
    label_runs,
    labels_to_segments,
    segment_map,
    voc_ap,
)
from .segmentation import edit_score, f1_counts, f1_score, frame_accuracy, levenshtein, segmentation_scores

__all__ = [
    "DEFAULT_TIOU_THRESHOLDS", "PROTOCOLS", "SegmentMAPResult", "label_runs", "labels_to_segments", "segment_map",
    "voc_ap", "edit_score", "f1_counts", "f1_score", "frame_accuracy", "levenshtein", "segmentation_scores",
]
