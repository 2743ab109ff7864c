"""A stand-in for the safetensors package, which diffusers' model loading
imports; the reference scripts write their files with common.py and never
load a checkpoint through diffusers. safetensors.torch is this module."""

import sys


def _refuse(*args, **kwargs):
    raise RuntimeError("safetensors is stubbed out (tests/refgen/stubs)")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _refuse


sys.modules[f"{__name__}.torch"] = sys.modules[__name__]
