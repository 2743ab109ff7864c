"""Stand-in for huggingface_hub.utils._deprecation."""


def _deprecate_method(**kwargs):
    return lambda method: method
