"""torch.hub entry points: one per registered skelzoo architecture.

    model = torch.hub.load("ORG/skelzoo", "ctrgcn", pretrained=False, num_classes=60, trust_repo=True)
    model = torch.hub.load(repo_dir, "agcn_loc_ufusion", source="local", pretrained="TAG")

``pretrained=True`` loads the default weights, a string selects a tag; ``num_classes`` different from
the weights re-initialises the classifier; other keyword arguments go to the architecture.
"""
import skelzoo as _skelzoo

dependencies = ["torch", "huggingface_hub", "safetensors", "numpy", "einops", "requests"]


def _entry_point(_arch):
    def entry(pretrained=False, **kwargs):
        return _skelzoo.load_model(_arch, pretrained=pretrained, **kwargs)

    info = _skelzoo.models.get_entry(_arch)
    tags = ", ".join(info.weights) or "none yet"
    entry.__name__ = entry.__qualname__ = _arch
    entry.__doc__ = (
        f"skelzoo `{_arch}` ({info.task}). Weight tags: {tags}.\n\n"
        f"    torch.hub.load(repo, {_arch!r}, pretrained=False, trust_repo=True, **kwargs)\n\n"
        "Args: pretrained (bool or tag), num_classes, device, architecture keyword arguments.\n"
        "Returns: a torch.nn.Module in eval mode."
    )
    return entry


for _arch in _skelzoo.models.list_architectures():
    globals()[_arch] = _entry_point(_arch)
del _arch
