"""Skeleton backbones, one architecture per file. Importing this package registers them all."""
from . import stgcn as stgcn  # noqa: F401  (registers stgcn, stgcn_ssl)
from . import stgcnpp as stgcnpp  # noqa: F401
from . import agcn as agcn  # noqa: F401  (registers agcn, agcn_loc)
from . import aagcn as aagcn  # noqa: F401
from . import ctrgcn as ctrgcn  # noqa: F401  (registers ctrgcn, ctrgcn_pyskl)
from . import msg3d as msg3d  # noqa: F401  (registers msg3d, msg3d_pyskl)
