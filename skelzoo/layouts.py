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

__all__ = ["Layout", "get_layout", "list_layouts", "register_layout", "BANDAI_JOINTS", "BANDAI_PARENTS",
           "CMU_JOINTS", "CMU_PARENTS", "SMPLH73_JOINTS"]


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
_NTU_MIRROR = _one_based([(5, 9), (6, 10), (7, 11), (8, 12), (13, 17), (14, 18), (15, 19), (16, 20), (22, 24),
                          (23, 25)])

_LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    """Add a layout to the registry; a taken name raises ``ValueError``."""
    if layout.name in _LAYOUTS:
        raise ValueError(f"layout {layout.name!r} is already registered")
    _LAYOUTS[layout.name] = layout
    return layout


def get_layout(layout: str | Layout) -> Layout:
    """Return a registered layout by name (a :class:`Layout` passes through)."""
    if isinstance(layout, Layout):
        return layout
    try:
        return _LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"unknown layout {layout!r}; known layouts: {', '.join(sorted(_LAYOUTS))}") from None


def list_layouts() -> list[str]:
    """Names of all registered layouts."""
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


# ---------------------------------------------------------------------------------------------- mocap rigs
# BVH rigs (their joint order is the order of the JOINT / End Site records in the files skelzoo reads) and the
# SMPL-H joints of BABEL. Defined here, with the other layouts, so that every layout is known on import;
# :mod:`skelzoo.io.bvh` reads with them and :mod:`skelzoo.io.layout_conversion` converts from them.
def _rig(spec: list[tuple[str, str | None]]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    names = tuple(n for n, _ in spec)
    parents = tuple(-1 if p is None else names.index(p) for _, p in spec)
    return names, parents


def _chain(parent: str, *names: str) -> list[tuple[str, str]]:
    out, p = [], parent
    for n in names:
        out.append((n, p))
        p = n
    return out


_BANDAI_SPEC: list[tuple[str, str | None]] = [("joint_Root", None), ("Hips", "joint_Root")]
_BANDAI_SPEC += _chain("Hips", "Spine", "Chest", "Neck", "Head", "Head_End")
for _s in ("L", "R"):
    _BANDAI_SPEC += _chain("Chest", f"Shoulder_{_s}", f"UpperArm_{_s}", f"LowerArm_{_s}", f"Hand_{_s}",
                           f"Hand_{_s}_End")
for _s in ("L", "R"):
    _BANDAI_SPEC += _chain("Hips", f"UpperLeg_{_s}", f"LowerLeg_{_s}", f"Foot_{_s}", f"Toes_{_s}", f"Toes_{_s}_End")

_CMU_SPEC: list[tuple[str, str | None]] = [("Hips", None)]
for _s, _l in (("L", "Left"), ("R", "Right")):
    _CMU_SPEC += _chain("Hips", f"{_s}HipJoint", f"{_l}UpLeg", f"{_l}Leg", f"{_l}Foot", f"{_l}ToeBase",
                        f"{_l}ToeBase_End")
_CMU_SPEC += _chain("Hips", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head", "Head_End")
for _s, _l in (("L", "Left"), ("R", "Right")):
    _CMU_SPEC += _chain("Spine1", f"{_l}Shoulder", f"{_l}Arm", f"{_l}ForeArm", f"{_l}Hand", f"{_l}FingerBase",
                        f"{_s}Fingers", f"{_s}Fingers_End")
    _CMU_SPEC += _chain(f"{_l}Hand", f"{_s}Thumb", f"{_s}Thumb_End")

BANDAI_JOINTS, BANDAI_PARENTS = _rig(_BANDAI_SPEC)
CMU_JOINTS, CMU_PARENTS = _rig(_CMU_SPEC)


def _mirror(names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Left/right pairs by name: ``*_L``/``*_R``, ``Left*``/``Right*``, CMU ``L*``/``R*`` (e.g. ``LThumb``)."""
    pairs = []
    for i, n in enumerate(names):
        if "_L" in n:
            cand = n.replace("_L", "_R", 1)
        elif "Left" in n:
            cand = n.replace("Left", "Right", 1)
        elif n.startswith("L") and n[1:2].isupper():
            cand = "R" + n[1:]
        else:
            continue
        if cand in names:
            pairs.append((i, names.index(cand)))
    return tuple(pairs)


def _register(name: str, names: tuple[str, ...], parents: tuple[int, ...], center: str, desc: str) -> None:
    bones = tuple((c, p) for c, p in enumerate(parents) if p >= 0)
    register_layout(Layout(name, names, bones, names.index(center), _mirror(names), desc))


_register("bvh_bandai", BANDAI_JOINTS, BANDAI_PARENTS, "Chest",
          "Bandai Namco Research Motion BVH rig: 22 joints + 5 end sites ('<joint>_End')")
_register("bvh_cmu", CMU_JOINTS, CMU_PARENTS, "Spine1",
          "CMU mocap (cgspeed MotionBuilder-friendly) BVH rig: 31 joints + 7 end sites ('<joint>_End')")


_SMPL_BODY = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
              "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
              "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
_FINGERS = [f"{f}{k}" for f in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)]
SMPLH73_JOINTS: tuple[str, ...] = (_SMPL_BODY + tuple(f"left_{f}" for f in _FINGERS)
                                   + tuple(f"right_{f}" for f in _FINGERS) + tuple(f"extra_{i}" for i in range(52, 73)))
_SMPLH_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)


def _smplh_bones() -> tuple[tuple[int, int], ...]:
    """The SMPL-H bones: the body tree, then three bones per finger from each wrist."""
    bones = [(c, p) for c, p in enumerate(_SMPLH_PARENTS) if p >= 0]
    for wrist, base in ((20, 22), (21, 37)):
        for f in range(5):
            bones += [(base + 3 * f, wrist), (base + 3 * f + 1, base + 3 * f), (base + 3 * f + 2, base + 3 * f + 1)]
    return tuple(bones)


SMPLH73 = register_layout(Layout(
    "smplh73", SMPLH73_JOINTS, _smplh_bones(), center=9,
    mirror=tuple((i, SMPLH73_JOINTS.index(n.replace("left_", "right_"))) for i, n in enumerate(SMPLH73_JOINTS)
                 if n.startswith("left_")),
    description="BABEL joint_pos: 52 SMPL-H joints + 21 extra vertex joints (Z-up)"))
