"""Stand-in for safetensors.torch (see the package docstring)."""
from safetensors import safe_open as load_file  # noqa: F401
from safetensors import safe_open as save_file  # noqa: F401
from safetensors import safe_open as storage_ptr  # noqa: F401
from safetensors import safe_open as storage_size  # noqa: F401
