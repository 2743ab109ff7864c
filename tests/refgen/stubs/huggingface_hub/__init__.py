"""Stand-in for huggingface_hub, which the build root lacks: transformers
imports these names at start-up, and the reference scripts never reach the
Hub (models are built from configs). Any call fails loudly."""

def _unavailable(*args, **kwargs):
    raise RuntimeError("huggingface_hub is a stub here")


def __getattr__(name):
    """Functions and classes the importer names: placeholders."""
    if name.startswith("__"):
        raise AttributeError(name)
    return _unavailable


from huggingface_hub import constants  # noqa: E402
