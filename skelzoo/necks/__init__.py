"""Necks that fuse backbone feature maps for dense (per-frame) prediction."""
from .ufusion import UFusionNeck as UFusionNeck
from .ufusion import nearest_index as nearest_index
from .ufusion import pool_joints_persons as pool_joints_persons
from .ufusion import resample_nearest as resample_nearest

__all__ = ["UFusionNeck", "nearest_index", "pool_joints_persons", "resample_nearest"]
