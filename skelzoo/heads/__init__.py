"""Task heads that sit on top of backbones / necks."""
from .frame import FrameHead as FrameHead
from .frame import interpolate_frames as interpolate_frames

__all__ = ["FrameHead", "interpolate_frames"]
