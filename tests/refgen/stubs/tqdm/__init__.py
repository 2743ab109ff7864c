"""A stand-in for tqdm, which diffusers' logging imports for progress bars
the reference scripts never show."""

import sys


class tqdm:
    def __init__(self, iterable=None, *args, **kwargs):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)


sys.modules[f"{__name__}.auto"] = sys.modules[__name__]
