"""Stand-in for PIL.Image (see the package docstring): the names diffusers
reads at import time."""


class Image:
    pass


class Resampling:
    NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING = range(6)


NEAREST, LANCZOS, BILINEAR, BICUBIC = (Resampling.NEAREST, Resampling.LANCZOS,
                                       Resampling.BILINEAR, Resampling.BICUBIC)
LINEAR = BILINEAR
