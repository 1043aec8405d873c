"""Frame scores to scored action segments (SnipCLR / LINE post-processing and a plain argmax decoder)."""
