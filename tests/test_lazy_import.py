"""``import skelzoo`` is lazy (issue #9): it does not import torch, and every public name still works.

Each check runs in a fresh interpreter (``sys.executable``): the test process has long imported torch and
every skelzoo module, which would hide what a plain ``import skelzoo`` does.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

import skelzoo
from skelzoo.models import DEFAULT_LOCALIZER

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT = DEFAULT_LOCALIZER  # a bundled checkpoint: loads offline


def _py(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                       cwd=REPO_ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _old_way() -> dict:
    """The registry as a plain import of the models package fills it (backbone families, then localizers)."""
    return _py("""
        import json
        import skelzoo.models
        from skelzoo.models._registry import _MODELS
        print(json.dumps({"archs": sorted(_MODELS),
                          "pretrained": sorted(f"{a}.{t}" for a, e in _MODELS.items() for t in e.weights)}))
    """)


def test_import_does_not_import_torch():
    r = _py("""
        import json, sys
        import skelzoo
        print(json.dumps({"torch": "torch" in sys.modules, "version": skelzoo.__version__,
                          "loaded": sorted(m for m in sys.modules if m.startswith("skelzoo.")),
                          "errors": [skelzoo.FormatError.__name__, skelzoo.SkelzooError.__name__],
                          "format_is_value": issubclass(skelzoo.FormatError, ValueError)}))
    """)
    assert r["torch"] is False, f"import skelzoo imported torch (skelzoo modules loaded: {r['loaded']})"
    assert r["version"] == skelzoo.__version__
    assert r["errors"] == ["FormatError", "SkelzooError"] and r["format_is_value"]
    assert not {"skelzoo.zoo", "skelzoo.backbones", "skelzoo.models", "skelzoo.convert"} & set(r["loaded"])


def test_unknown_attribute_and_dir():
    r = _py("""
        import json, sys
        import skelzoo
        try:
            skelzoo.nonexistent
            msg = None
        except AttributeError as e:
            msg = str(e)
        try:
            from skelzoo import nonexistent  # noqa: F401
            from_msg = None
        except ImportError as e:
            from_msg = str(e)
        print(json.dumps({"msg": msg, "from_msg": from_msg, "hasattr": hasattr(skelzoo, "nonexistent"),
                          "dir": dir(skelzoo), "all": skelzoo.__all__, "torch": "torch" in sys.modules}))
    """)
    assert r["msg"] == "module 'skelzoo' has no attribute 'nonexistent'"
    assert r["from_msg"] is not None and "nonexistent" in r["from_msg"]
    assert r["hasattr"] is False
    assert set(r["all"]) <= set(r["dir"])
    assert {"zoo", "io", "backbones", "models", "convert", "layouts"} <= set(r["dir"])
    assert r["all"] == skelzoo.__all__
    assert r["torch"] is False  # neither dir() nor a failed lookup imports torch


def test_read_skeleton_without_torch(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.standard_normal((12, 2, 25, 3)).astype(np.float32)  # (T, M, V, C), 25 joints: ntu25
    np.save(tmp_path / "clip.npy", arr)
    (tmp_path / "bad.npy").write_bytes(b"not a numpy file")
    r = _py("""
        import json, sys
        import numpy as np
        import skelzoo
        seq = skelzoo.read_skeleton(sys.argv[1])
        ok = isinstance(seq, skelzoo.SkeletonSequence)
        same = bool(np.array_equal(seq.data, np.load(sys.argv[1])))
        try:
            skelzoo.read_skeleton(sys.argv[2])
            err = None
        except skelzoo.FormatError as e:
            err = str(e)
        torch_before = "torch" in sys.modules
        x = seq.to_tensor()
        print(json.dumps({"ok": ok, "same": same, "shape": list(seq.data.shape), "layout": seq.layout,
                          "fps": seq.fps, "err": err, "torch_before": torch_before,
                          "tensor": [type(x).__module__, list(x.shape), str(x.dtype)]}))
    """, str(tmp_path / "clip.npy"), str(tmp_path / "bad.npy"))
    assert r["ok"] and r["same"]
    assert r["shape"] == [12, 2, 25, 3] and r["layout"] == "ntu25" and r["fps"] == 30.0
    assert r["err"] is not None and "bad.npy" in r["err"]
    assert r["torch_before"] is False, "read_skeleton imported torch"
    assert r["tensor"] == ["torch", [1, 3, 12, 25, 2], "torch.float32"]  # to_tensor imports torch itself


def test_model_api_after_lazy_import():
    old = _old_way()
    assert old["archs"] and old["pretrained"]
    r = _py("""
        import json, sys
        import skelzoo
        names = skelzoo.list_models()
        pretrained = skelzoo.list_models(pretrained=True)
        from skelzoo import FormatError, SkeletonSequence, load_model  # noqa: F401
        import torch
        import skelzoo.convert, skelzoo.io, skelzoo.zoo, skelzoo.models, skelzoo.localization.input_spec, skelzoo.localization.pipeline
        import skelzoo.blocks.derived
        m = skelzoo.load_model(sys.argv[1], pretrained=True)
        archs = skelzoo.zoo.list_architectures()
        # every public name resolves to the object of the module that defines it
        where = {"convert_checkpoint": skelzoo.models, "SkeletonSequence": skelzoo.io, "read_skeleton": skelzoo.io,
                 "prepare": skelzoo.localization.input_spec, "InputSpec": skelzoo.localization.input_spec,
                 "extract_features": skelzoo.localization.pipeline, "cached_weights": skelzoo.blocks.derived}
        same = {n: getattr(skelzoo, n) is getattr(where.get(n, skelzoo.models), n)
                for n in skelzoo.__all__ if n not in ("__version__", "FormatError", "SkelzooError", "InputWarning")}
        print(json.dumps({"names": names, "pretrained": pretrained, "archs": archs,
                          "module": isinstance(m, torch.nn.Module), "training": m.training,
                          "info": skelzoo.model_info(sys.argv[1])["tag"], "same": same,
                          "converters": len(skelzoo.convert.list_converters()),
                          "submodules": [type(skelzoo.backbones).__name__, type(skelzoo.models).__name__]}))
    """, DEFAULT)
    assert r["names"] == old["archs"] and r["archs"] == old["archs"]
    assert r["pretrained"] == old["pretrained"] and DEFAULT in r["pretrained"]
    assert r["module"] and r["training"] is False
    assert r["info"] == DEFAULT.split(".", 1)[1]
    assert r["same"] and all(r["same"].values()), r["same"]
    assert r["converters"] > 0  # the checkpoint converters register with the architectures
    assert r["submodules"] == ["module", "module"]


def test_registry_lookups_register_builtin_models():
    old = _old_way()
    r = _py("""
        import json, sys
        import skelzoo
        before = sorted(m for m in ("skelzoo.models.stgcn", "skelzoo.models.localizers") if m in sys.modules)
        names = skelzoo.list_models()
        list_models = skelzoo.list_models
        from skelzoo.models import get_entry
        print(json.dumps({"before": before, "names": names, "pretrained": list_models(pretrained=True),
                          "task": get_entry("agcn_loc_ufusion").task}))
    """)
    assert r["before"] == []  # import skelzoo registers nothing; the first lookup imports skelzoo.models
    assert r["names"] == old["archs"] and r["pretrained"] == old["pretrained"]
    assert r["task"] == "localization"


def test_hubconf_entry_points():
    r = _py("""
        import json, runpy
        ns = runpy.run_path("hubconf.py")
        import skelzoo
        print(json.dumps({"entries": sorted(k for k, v in ns.items() if callable(v) and not k.startswith("_")),
                          "archs": skelzoo.zoo.list_architectures()}))
    """)
    assert r["archs"] and set(r["archs"]) <= set(r["entries"])


def test_registries_fill_on_first_use_in_a_fresh_interpreter():
    """Registries filled by other modules still list everything when reached directly: the converters
    (registered with the architectures) and the layouts registered by ``skelzoo.io`` (BVH rigs, SMPL-H)."""
    r = _py("""
        import json
        from skelzoo.layouts import list_layouts
        from skelzoo.convert import list_converters
        print(json.dumps({"layouts": list_layouts(), "converters": [a for a, _ in list_converters()]}))
    """)
    assert {"ntu25", "smplh73", "bvh_cmu", "bvh_bandai"} <= set(r["layouts"])
    assert {"ctrgcn", "agcn", "stgcn"} <= set(r["converters"])
