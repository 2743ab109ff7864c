"""A stand-in for Pillow, which diffusers' image utilities import at load
time; the reference scripts pass tensors, never PIL images. PIL.Image,
PIL.ImageFilter and PIL.ImageOps answer every name with a placeholder
class whose attributes are placeholders again (PIL.Image.Resampling.X)."""

import sys
import types

__version__ = "10.0.0"


class _Anything(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name, (), {})


def _placeholder(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Anything(name, (), {})


for _sub in ("Image", "ImageFilter", "ImageOps"):
    _module = types.ModuleType(f"{__name__}.{_sub}")
    _module.__getattr__ = _placeholder
    sys.modules[_module.__name__] = _module
    globals()[_sub] = _module
