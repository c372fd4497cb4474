"""Type tests of the argument checks. ``isinstance(x, int)`` is wrong both ways for a count:
``True`` is an int (bool subclasses it) and ``np.int64(3)`` is not. These two tests are the
project's one answer; ``numpy=False`` keeps to Python's own numbers, for config values that
are written to TOML and JSON files, which know no numpy scalars.
"""

from __future__ import annotations

import numbers

import numpy as np


def is_integer(value: object, *, numpy: bool = True) -> bool:
    """An int (or, if ``numpy``, a numpy integer), not a bool.

    >>> [is_integer(x) for x in (3, np.int64(3), True, 3.0)]
    [True, True, False, False]
    >>> is_integer(np.int64(3), numpy=False)
    False
    """
    return isinstance(value, int | np.integer if numpy else int) and not isinstance(value, bool)


def is_real(value: object, *, numpy: bool = True) -> bool:
    """A real number: an int or float (or, if ``numpy``, any `numbers.Real`, numpy's
    included), not a bool.

    >>> [is_real(x) for x in (0.5, np.float32(0.5), 2, True, "1", 1j)]
    [True, True, True, False, False, False]
    >>> is_real(np.float32(0.5), numpy=False)
    False
    """
    return isinstance(value, numbers.Real if numpy else int | float) and not isinstance(value, bool)
