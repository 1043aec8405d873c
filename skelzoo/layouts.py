"""Skeleton layouts: joint names, bones, centre joint and left/right mirror pairs.

A :class:`Layout` is an immutable record; graph builders in :mod:`skelzoo.graphs` turn its bones into
adjacency tensors. Joint indices are 0-based everywhere in skelzoo.

Layouts:

- ``ntu25``: Kinect v2 = NTU RGB+D = PKU-MMD (25 joints). Bones are the official ST-GCN / 2s-AGCN /
  CTR-GCN list (hands as chains tip -> thumb -> hand).
- ``ntu25_pyskl``: the same joints with the pyskl / mmaction2 hand topology (tip and thumb both attached
  to the hand). Needed by converted pyskl / mmaction2 checkpoints.
- ``kinect20``: Kinect SDK v1 (20 joints).
- ``openni15``: OpenNI 15-joint skeletons (KARD order).
- ``coco17``: COCO-17 2-D keypoints (pyskl ``coco`` graph).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Layout", "get_layout", "list_layouts", "register_layout"]


@dataclass(frozen=True)
class Layout:
    """An immutable skeleton layout.

    Attributes:
        name: registry name, e.g. ``"ntu25"``.
        joints: joint names in storage order (``V`` entries).
        bones: ``(child, parent)`` pairs, 0-based, pointing "inward" to the centre.
        center: 0-based index of the graph centre joint.
        mirror: ``(left, right)`` index pairs swapped by a horizontal flip.
        description: one line for humans.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    center: int
    mirror: tuple[tuple[int, int], ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        v = len(self.joints)
        for c, p in self.bones:
            if not (0 <= c < v and 0 <= p < v):
                raise ValueError(f"layout {self.name!r}: bone ({c}, {p}) out of range for {v} joints")
        if not 0 <= self.center < v:
            raise ValueError(f"layout {self.name!r}: centre {self.center} out of range")

    @property
    def num_joints(self) -> int:
        """Number of joints ``V``."""
        return len(self.joints)

    def index(self, joint: str) -> int:
        """0-based index of a joint name (raises ``KeyError`` with the known names)."""
        try:
            return self.joints.index(joint)
        except ValueError:
            raise KeyError(f"layout {self.name!r} has no joint {joint!r}; joints: {', '.join(self.joints)}") from None

    def parents(self) -> tuple[int, ...]:
        """Parent of each joint (the joint itself for roots)."""
        par = list(range(self.num_joints))
        for c, p in self.bones:
            par[c] = p
        return tuple(par)

    def flip_permutation(self) -> tuple[int, ...]:
        """Joint permutation that swaps left and right."""
        perm = list(range(self.num_joints))
        for a, b in self.mirror:
            perm[a], perm[b] = b, a
        return tuple(perm)


def _one_based(pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((a - 1, b - 1) for a, b in pairs)


_NTU_JOINTS = (
    "SpineBase", "SpineMid", "Neck", "Head",
    "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight",
    "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
    "HipRight", "KneeRight", "AnkleRight", "FootRight",
    "SpineShoulder", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight",
)
_NTU_BODY = [
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10), (12, 11),
    (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
]
_NTU_MIRROR = _one_based([(5, 9), (6, 10), (7, 11), (8, 12), (13, 17), (14, 18), (15, 19), (16, 20), (22, 24), (23, 25)])

_LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    """Add a layout to the registry; a taken name raises ``ValueError``."""
    if layout.name in _LAYOUTS:
        raise ValueError(f"layout {layout.name!r} is already registered")
    _LAYOUTS[layout.name] = layout
    return layout


def _ensure_io_layouts() -> None:
    """The BVH rigs and ``smplh73`` are registered by :mod:`skelzoo.io`; import it on first need (``import
    skelzoo`` is lazy, so a bare ``from skelzoo.layouts import ...`` would otherwise miss them)."""
    import importlib

    importlib.import_module("skelzoo.io")


def get_layout(layout: str | Layout) -> Layout:
    """Return a registered layout by name (a :class:`Layout` passes through)."""
    if isinstance(layout, Layout):
        return layout
    if layout not in _LAYOUTS:
        _ensure_io_layouts()
    try:
        return _LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"unknown layout {layout!r}; known layouts: {', '.join(sorted(_LAYOUTS))}") from None


def list_layouts() -> list[str]:
    """Names of all registered layouts."""
    _ensure_io_layouts()
    return sorted(_LAYOUTS)


NTU25 = register_layout(Layout(
    "ntu25", _NTU_JOINTS,
    _one_based(_NTU_BODY + [(22, 23), (23, 8), (24, 25), (25, 12)]),
    center=20, mirror=_NTU_MIRROR,
    description="Kinect v2 / NTU RGB+D / PKU-MMD, 25 joints (official ST-GCN/AGCN/CTR-GCN bones)",
))
NTU25_PYSKL = register_layout(Layout(
    "ntu25_pyskl", _NTU_JOINTS,
    _one_based(_NTU_BODY + [(22, 8), (23, 8), (24, 12), (25, 12)]),
    center=20, mirror=_NTU_MIRROR,
    description="NTU-25 joints with the pyskl/mmaction2 hand topology (tip and thumb attached to the hand)",
))
KINECT20 = register_layout(Layout(
    "kinect20",
    ("HipCenter", "Spine", "ShoulderCenter", "Head", "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
     "ShoulderRight", "ElbowRight", "WristRight", "HandRight", "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
     "HipRight", "KneeRight", "AnkleRight", "FootRight"),
    _one_based([(1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11),
                (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19)]),
    center=2,
    mirror=_one_based([(5, 9), (6, 10), (7, 11), (8, 12), (13, 17), (14, 18), (15, 19), (16, 20)]),
    description="Kinect SDK v1, 20 joints",
))
OPENNI15 = register_layout(Layout(
    "openni15",
    ("Head", "Neck", "RightShoulder", "RightElbow", "RightHand", "LeftShoulder", "LeftElbow", "LeftHand",
     "Torso", "RightHip", "RightKnee", "RightFoot", "LeftHip", "LeftKnee", "LeftFoot"),
    ((0, 1), (1, 8), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (9, 8), (10, 9), (11, 10),
     (12, 8), (13, 12), (14, 13)),
    center=8,
    mirror=((2, 5), (3, 6), (4, 7), (9, 12), (10, 13), (11, 14)),
    description="OpenNI 15 joints (KARD order)",
))
COCO17 = register_layout(Layout(
    "coco17",
    ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
     "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
     "right_knee", "left_ankle", "right_ankle"),
    ((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6), (5, 0),
     (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
    center=0,
    mirror=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    description="COCO-17 2-D keypoints (pyskl 'coco' graph)",
))
