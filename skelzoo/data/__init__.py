"""Skeleton data utilities: preprocessing transforms (:mod:`skelzoo.data.transforms`) and the procedural
example recording (:mod:`skelzoo.data.synth`). Readers and writers live in :mod:`skelzoo.io`."""
