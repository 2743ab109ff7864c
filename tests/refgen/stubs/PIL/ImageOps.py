"""Stand-in for PIL.ImageOps (see the package docstring)."""
