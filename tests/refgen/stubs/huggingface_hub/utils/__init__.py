"""Stand-in for huggingface_hub.utils (see the package docstring)."""
from huggingface_hub import _unavailable


class HfHubHTTPError(Exception):
    pass


EntryNotFoundError = GatedRepoError = HFValidationError = HfHubHTTPError
LocalEntryNotFoundError = OfflineModeIsEnabled = HfHubHTTPError
RepositoryNotFoundError = RevisionNotFoundError = HfHubHTTPError


def are_progress_bars_disabled():
    return True


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _unavailable
