"""Evaluation metrics: segment mAP (localization) and frame accuracy / F1@k / edit (segmentation)."""
