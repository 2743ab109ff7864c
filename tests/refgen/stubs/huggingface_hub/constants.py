"""Stand-in for huggingface_hub.constants: a cache that does not exist,
offline."""
HF_HOME = "/nonexistent/huggingface"
HF_HUB_CACHE = default_cache_path = HF_HOME + "/hub"
HF_HUB_OFFLINE = HF_HUB_DISABLE_TELEMETRY = True
