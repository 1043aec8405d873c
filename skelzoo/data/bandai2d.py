"""**bandai-untrimmed-2d**: the Bandai untrimmed benchmark seen by random virtual cameras as 2-D COCO-17
keypoints with detector-like noise (dataset card ``docs/datasets/bandai_untrimmed_2d.md``).

The 3-D sequences are composed exactly as :func:`skelzoo.data.bandai.prepare_bandai_untrimmed` does (same
seed, same plan and ids, but without the NTU pre-normalisation, so world positions are kept), then every
sequence is projected by :func:`skelzoo.data.project2d.project_sequence` with a camera drawn from its
split's azimuth sectors (train: :data:`~skelzoo.data.project2d.TRAIN_AZIMUTHS`, val:
:data:`~skelzoo.data.project2d.VAL_AZIMUTHS`, test: :data:`~skelzoo.data.project2d.TEST_AZIMUTHS`: the test
views are never seen in training, nor the test styles) and normalised with
:func:`skelzoo.data.norm2d.normalise_2d` (preprocessing code ``"coco2d"``).

Output: a prepared directory (``layout: coco17``, ``(T, 1, 17, 3)`` x, y, score, ``preprocessing.code:
coco2d``) and, in ``OUT/pixels``, the same sequences before normalisation (pixel x, y, score of each
sequence's camera image, ``meta.camera`` gives its size) for demos and format round trips.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .prepare import PreparedDataset, SequenceRecord, ShardPlan, plan_shards, write_prepared

__all__ = ["prepare_bandai_untrimmed_2d"]

log = logging.getLogger(__name__)

_CODES = {"train": 0, "test": 1, "val": 2}


def prepare_bandai_untrimmed_2d(data_dir: str | os.PathLike, out_dir: str | os.PathLike, *, seed: int = 0,
                                camera_seed: int | None = None, cache_dir: str | os.PathLike | None = None,
                                val_styles: Sequence[str] | str = (), workers: int | None = None,
                                clips_per_group: int | None = None, num_train: int | None = None,
                                num_test: int | None = None, progress: bool = True,
                                overwrite: bool = False) -> dict[str, Any]:
    """Build ``bandai-untrimmed-2d`` into ``out_dir`` (see the module docstring).

    Args:
        data_dir: folder with the Bandai archives (as for ``bandai-untrimmed``).
        out_dir: output prepared directory (splits ``train``, ``test`` and, with ``val_styles``, ``val``).
        seed: composition seed (the 3-D sequences are those of ``bandai-untrimmed`` with this seed).
        camera_seed: seed of the cameras and noise (default: ``seed``); sequence ``i`` of split code ``c``
            (train 0, test 1, val 2) uses ``numpy.random.default_rng([camera_seed, c, i, 2])``.
        cache_dir: BVH parse cache (``--cache``; default ``out_dir/parsed``, built on first use).
        val_styles: dataset-2 training styles held out as ``val`` (``"default"`` = exhausted).
        workers, clips_per_group, num_train, num_test, progress, overwrite: as for
            :func:`skelzoo.data.bandai.prepare_bandai_untrimmed`.

    Returns a JSON-able summary (counts per split, seconds).
    """
    from . import project2d as p2
    from .bandai import LICENSE, _cache_location, _check_val_styles, _existing, prepare_bandai_untrimmed
    from .norm2d import PREPROCESS_2D, PREPROCESS_2D_DESCRIPTION, normalise_2d

    t0 = time.perf_counter()
    out = Path(out_dir)
    cam_seed = seed if camera_seed is None else int(camera_seed)
    val = _check_val_styles(val_styles)
    ranges = {"train": p2.CameraRanges(azimuths=p2.TRAIN_AZIMUTHS), "val": p2.CameraRanges(azimuths=p2.VAL_AZIMUTHS),
              "test": p2.CameraRanges(azimuths=p2.TEST_AZIMUTHS)}
    noise = p2.NoiseConfig()
    params = {"num_train": num_train, "num_test": num_test, "clips_per_group": clips_per_group,
              "val_styles": list(val), "camera_seed": cam_seed,
              "cameras": {k: asdict(v) for k, v in ranges.items()}, "noise": asdict(noise)}
    done = _existing(out, "bandai-untrimmed-2d", params, seed, overwrite)
    if done is not None:
        return {"name": "bandai-untrimmed-2d", "out": str(out), "status": "exists"}
    with tempfile.TemporaryDirectory(prefix="skelzoo-bu3d-") as tmp:
        res3 = prepare_bandai_untrimmed(data_dir, Path(tmp) / "bu3d", seed=seed, num_train=num_train,
                                        num_test=num_test, normalise=False,
                                        cache_dir=_cache_location(out, cache_dir), workers=workers,
                                        clips_per_group=clips_per_group, progress=progress, val_styles=val)
        t_compose = time.perf_counter() - t0
        src = PreparedDataset(Path(tmp) / "bu3d", mmap=False)
        norm: dict[str, list[SequenceRecord]] = {}
        pix: dict[str, list[SequenceRecord]] = {}
        for split in src.splits:
            code = _CODES[split]
            norm[split], pix[split] = [], []
            for i, (sid, d, labels) in enumerate(src.iter_split(split)):
                rng = np.random.default_rng([cam_seed, code, i, 2])
                kp, info = p2.project_sequence(d[:, 0], rng, ranges=ranges[split], noise=noise, fps=src.fps)
                meta = dict(src.meta(split, i))
                meta.update(info)
                kp = kp[:, None]                                          # (T, 1, 17, 3)
                pix[split].append(SequenceRecord(sid, kp, np.asarray(labels), meta))
                norm[split].append(SequenceRecord(sid, normalise_2d(kp), np.asarray(labels), meta))
        source = dict(src.index["source"])
        class_names, bg = src.class_names, src.background_index
    t_project = time.perf_counter() - t0 - t_compose
    source.update({"license": LICENSE, "composed_as": "bandai-untrimmed (same seed, plan and ids; "
                   "normalise=False)", "azimuths": {k: [list(s) for s in v.azimuths] for k, v in ranges.items()}})

    def writer(records: dict[str, list[SequenceRecord]]):
        lookup = {(s, r.id): r for s, rs in records.items() for r in rs}

        def produce(shard: ShardPlan) -> list[SequenceRecord]:
            return [lookup[(shard.split, sid)] for sid in shard.ids]
        plan: list[ShardPlan] = []
        for split in ("train", "test", "val"):
            if split in records:
                plan += plan_shards(split, [r.id for r in records[split]], per_shard=128)
        return plan, produce

    common = {"fps": 30.0, "class_names": class_names, "background_index": bg, "labels": "frame",
              "source": source, "seed": seed, "params": params}
    camera_doc = ("random pinhole camera per sequence (skelzoo.data.project2d): azimuth relative to the "
                  "person's initial facing from the split's sectors, elevation, field of view, image size, "
                  "distance from the person's image height; tracks the smoothed hip trajectory; detector-like "
                  "noise, jitter, outliers, left/right swaps, missing points and frames, scores")
    plan, produce = writer(pix)
    pix_dir = out.with_name(out.name + ".pixels-tmp")
    if pix_dir.exists():
        import shutil
        shutil.rmtree(pix_dir)
    write_prepared(pix_dir, plan, produce, progress=progress, overwrite=True, desc="pixels", info={
        **common, "name": "bandai-untrimmed-2d-pixels", "layout": "coco17",
        "preprocessing": {"code": "", "projection": camera_doc,
                          "coordinates": "pixels of each sequence's camera image (meta.camera.width/height); "
                                         "channels x, y, score; missing points 0, 0, 0"}})
    plan, produce = writer(norm)
    ds = write_prepared(out, plan, produce, progress=progress, overwrite=overwrite, desc="bu2d", info={
        **common, "name": "bandai-untrimmed-2d", "layout": "coco17",
        "preprocessing": {"code": PREPROCESS_2D, "coco2d": PREPROCESS_2D_DESCRIPTION, "projection": camera_doc,
                          "pixels": "the same sequences before normalisation: ./pixels"}})
    if (out / "pixels").exists():
        import shutil
        shutil.rmtree(out / "pixels")
    os.replace(pix_dir, out / "pixels")
    summ = ds.summary()
    return {"name": "bandai-untrimmed-2d", "out": str(out), "status": "written", "seed": seed,
            "camera_seed": cam_seed, "splits": summ["splits"],
            "azimuths": {k: [list(s) for s in v.azimuths] for k, v in ranges.items()},
            "seconds": {"compose3d": round(t_compose, 1), "project": round(t_project, 1),
                        "total": round(time.perf_counter() - t0, 1)}, "composed3d": res3.get("splits")}
