"""Stand-in for huggingface_hub.utils (see the package docstring)."""
import huggingface_hub as _hub


class HfHubHTTPError(Exception):
    pass


EntryNotFoundError = GatedRepoError = HFValidationError = HfHubHTTPError
LocalEntryNotFoundError = OfflineModeIsEnabled = HfHubHTTPError
RepositoryNotFoundError = RevisionNotFoundError = HfHubHTTPError


def are_progress_bars_disabled():
    return True


def validate_hf_hub_args(function):
    """diffusers decorates its loaders with this at import time."""
    return function


def __getattr__(name):
    """Other names resolve as the package's do (decorators, flags, ...)."""
    return _hub.__getattr__(name)
