"""Stand-in for huggingface_hub.file_download."""
import re

from huggingface_hub import _refuse as http_get  # noqa: F401

REGEX_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")
