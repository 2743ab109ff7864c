"""Stand-in for Pillow (absent from the build root): diffusers imports
PIL.Image and PIL.ImageOps at start-up for its image utilities, which the
reference scripts never call (they feed tensors to the networks)."""
__version__ = "10.0.0"
