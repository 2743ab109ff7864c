"""A stand-in for huggingface_hub, which diffusers imports but the reference
scripts never use: they build models from configs and never download. Any
name resolves: *Error names to exception classes, HF_* constants to
offline values, decorators to the identity, anything else to a function
that refuses to run. constants, file_download and utils have files of
their own (what transformers reads at start-up); other submodules are this
module again."""

import re
import sys


class _Unavailable(Exception):
    pass


def _refuse(*args, **kwargs):
    raise _Unavailable("huggingface_hub is stubbed out (tests/refgen/stubs)")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name.endswith("Error"):
        return type(name, (_Unavailable,), {})
    if name in ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        return True
    if name.startswith("HF_"):
        return "/nonexistent"
    if name.startswith("REGEX_"):
        return re.compile("^$")
    if name == "validate_hf_hub_args":
        return lambda function: function
    if name.startswith("is_") and name.endswith("_available"):
        return lambda: False
    return _refuse


# Submodules without a file of their own here are this module again.
sys.modules[f"{__name__}.errors"] = sys.modules[__name__]
