"""Stand-in for PIL.ImageFilter (see the package docstring)."""
