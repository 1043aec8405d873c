"""Facts about public skeleton datasets that checkpoints refer to: class names and usage terms.

NTU RGB+D 60 / 120 (Shahroudy et al., CVPR 2016; Liu et al., TPAMI 2020; ROSE Lab, NTU Singapore). The
class names are the published action list (A1-A60, A61-A120), in label order (label ``i`` = action
``A{i+1}``), as in the dataset README and in open-mmlab/mmaction2
``tools/data/skeleton/label_map_ntu60.txt`` / ``label_map_ntu120.txt``, with the trailing full stops of
the latter removed and typographic apostrophes written as ``'``; the published wording (typos included,
e.g. ``"hush (quite)"``) is kept so that names match other toolboxes. NTU RGB+D 120 extends NTU RGB+D 60:
its first 60 names are the NTU-60 list.

The NTU RGB+D data may be used for academic research only (ROSE Lab release agreement); models trained
on it inherit that restriction whatever the licence of the code that trained them.
"""
from __future__ import annotations

__all__ = ["NTU60_CLASSES", "NTU120_CLASSES", "NTU_TERMS", "NTU60_XSUB", "NTU120_XSUB", "PYSKL_NTU3D_PREPROCESS",
           "PYSKL_2D_PREPROCESS", "PREPROCESS_DESCRIPTIONS"]

#: Usage terms that every checkpoint trained on NTU RGB+D inherits.
NTU_TERMS = "research use only (NTU RGB+D terms)"

#: Human-readable dataset / benchmark names used in weight metadata.
NTU60_XSUB = "NTU RGB+D 60 X-Sub"
NTU120_XSUB = "NTU RGB+D 120 X-Sub"

#: The input pipeline of the pyskl / mmaction2 NTU 3D-skeleton checkpoints (``*_3dkp`` / ``*-keypoint-3d``
#: configs), read from their config files. Their own pipeline emits ``(N, M, T, V, C)``; skelzoo's converted
#: models take ``(N, C, T, V, M)``.
PYSKL_NTU3D_PREPROCESS = (
    "NTU RGB+D 3D joints (Kinect v2 order, metres), 25 joints in layout ntu25_pyskl, at most 2 persons. "
    "PreNormalize3D: drop the frames where the main person is absent, subtract the spine joint (index 1) "
    "of person 0 in the first frame from every non-zero joint, rotate so that person 0's hip->spine "
    "(joints 0->1) is +z and right->left shoulder (joints 8->4) is +x, all from the first frame "
    "(skelzoo.data.transforms.ntu_pre_normalise is the 2s-AGCN variant with per-frame centring, not "
    "identical). Joint features only (GenSkeFeat feats=['j']). UniformSample clip_len=100: split the "
    "sequence into 100 equal segments and take one frame of each (test: 10 clips with different offsets, "
    "scores averaged; the published top-1 uses these 10 clips). FormatGCNInput num_person=2: zero-pad or "
    "truncate to 2 persons. Model input (N, C=3, T=100, V=25, M=2)."
)

#: The input pipeline of the pyskl / mmaction2 NTU 2-D keypoint checkpoints (``*_hrnet`` /
#: ``*-keypoint-2d`` configs), read from their config files and pose_related.py (skelzoo.data.pyskl2d).
PYSKL_2D_PREPROCESS = (
    "NTU RGB+D 2-D keypoints estimated by HRNet on the 1920x1080 RGB videos, COCO-17 order (layout coco17), "
    "pixels + a score per keypoint, at most 2 persons. PreNormalize2D: x' = (x - w/2) / (w/2), "
    "y' = (y - h/2) / (h/2) with the sample's img_shape, default (h, w) = (1080, 1920): the image maps "
    "onto [-1, 1] (aspect ratio not kept, scores unchanged). GenSkeFeat(dataset='coco', feats=['j']): channels "
    "x', y', score. UniformSample clip_len=100 (test: 10 clips, scores averaged; the published top-1 uses "
    "them). FormatGCNInput num_person=2: zero-pad or truncate to 2 persons. Model input (N, C=3, T=100, "
    "V=17, M=2)."
)

#: What each ``preprocess`` code of a checkpoint means (``WeightCfg.preprocess`` / ``model.preprocess``);
#: :func:`skelzoo.localization.pipeline.prepare_input` applies it. ``""`` = raw coordinates.
PREPROCESS_DESCRIPTIONS: dict[str, str] = {
    "": "none: the model takes the coordinates as they are",
    "ntu": ("NTU pre-normalisation of 2s-AGCN / SnipCLR (skelzoo.data.transforms.ntu_pre_normalise): per "
            "person, empty leading frames removed and trailing empty frames filled by repetition; the spine "
            "joint (index 1) of person 0 subtracted in every frame; rotated so that person 0's hip->spine "
            "bone is +z and its right->left shoulder line is +x in the first frame. Metres."),
    "ntu_bodysize": ("the 'ntu' pre-normalisation, then every coordinate scaled so that the median torso length "
                     "(SpineBase -> SpineShoulder, skelzoo.data.transforms.normalise_body_size) is 0.5: the "
                     "model does not depend on the subject's size or the sensor's skeleton proportions."),
    "coco2d": ("2-D keypoints (coco17, channels x, y, score; skelzoo.data.norm2d.normalise_2d): points with "
               "score < 0.3 zeroed; per frame person 0's hip midpoint subtracted; scaled so that the median torso "
               "length (shoulder midpoint -> hip midpoint) is 0.5; y flipped to point up. Independent of image "
               "size, camera distance and position."),
    "pyskl_ntu3d": PYSKL_NTU3D_PREPROCESS + (
        " skelzoo applies it as ntu_pre_normalise(center='first_frame', pad_null_frames=False): the centring "
        "and the rotations of PreNormalize3D, keeping every frame (absent frames are not dropped, so frame "
        "times stay those of the recording) and without the clip sampling."),
    "pyskl_2d": PYSKL_2D_PREPROCESS + (
        " skelzoo applies it as skelzoo.data.pyskl2d.pyskl_2d_input: scores from the recording's confidence "
        "(1 when it has none, 0 for missing points), image size from meta['image_size'] (width, height), "
        "(1, 1) for coordinates already normalised to [0, 1], else 1920x1080; every frame kept, no clip "
        "sampling; persons selected / zero-padded after the normalisation."),
}


NTU60_CLASSES: tuple[str, ...] = (
    # A1-A10
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up (from sitting position)", "clapping",
    # A11-A20
    "reading", "writing", "tear up paper", "wear jacket", "take off jacket", "wear a shoe",
    "take off a shoe", "wear on glasses", "take off glasses", "put on a hat/cap",
    # A21-A30
    "take off a hat/cap", "cheer up", "hand waving", "kicking something", "reach into pocket",
    "hopping (one foot jumping)", "jump up", "make a phone call/answer phone", "playing with phone/tablet",
    "typing on a keyboard",
    # A31-A40
    "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute", "put the palms together",
    "cross hands in front (say stop)",
    # A41-A50 (A50-A60: two-person interactions)
    "sneeze/cough", "staggering", "falling", "touch head (headache)", "touch chest (stomachache/heart pain)",
    "touch back (backache)", "touch neck (neckache)", "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    # A51-A60
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person", "giving something to other person",
    "touch other person's pocket", "handshaking", "walking towards each other",
    "walking apart from each other",
)

NTU120_CLASSES: tuple[str, ...] = NTU60_CLASSES + (
    # A61-A70
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball", "tennis bat swing",
    "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up", "thumb down",
    # A71-A80
    "make ok sign", "make victory sign", "staple book", "counting money", "cutting nails",
    "cutting paper (using scissors)", "snapping fingers", "open bottle", "sniff (smell)", "squat down",
    # A81-A90
    "toss a coin", "fold paper", "ball up paper", "play magic cube", "apply cream on face",
    "apply cream on hand back", "put on bag", "take off bag", "put something into a bag",
    "take something out of a bag",
    # A91-A100
    "open a box", "move heavy objects", "shake fist", "throw up cap/hat", "hands up (both hands)",
    "cross arms", "arm circles", "arm swings", "running on the spot", "butt kicks (kick backward)",
    # A101-A110 (A106-A120: two-person interactions)
    "cross toe touch", "side kick", "yawn", "stretch oneself", "blow nose",
    "hit other person with something", "wield knife towards other person",
    "knock over other person (hit with body)", "grab other person's stuff",
    "shoot at other person with a gun",
    # A111-A120
    "step on foot", "high-five", "cheers and drink", "carry something with other person",
    "take a photo of other person", "follow other person", "whisper in other person's ear",
    "exchange things with other person", "support somebody with hand",
    "finger-guessing game (playing rock-paper-scissors)",
)

if len(NTU60_CLASSES) != 60 or len(NTU120_CLASSES) != 120 or len(set(NTU120_CLASSES)) != 120:
    raise RuntimeError("NTU class lists are corrupt")  # pragma: no cover - guards edits of this file
