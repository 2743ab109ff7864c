"""Stand-in for tqdm (absent from the build root): transformers imports
tqdm.tqdm and tqdm.auto; progress bars are never shown here."""
import sys


class tqdm:
    def __init__(self, iterable=None, *args, **kwargs):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)


auto = sys.modules["tqdm.auto"] = sys.modules[__name__]
