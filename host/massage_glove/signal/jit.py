"""Compiled per-sample kernels: numba when it is installed, the same Python source when not.

A kernel is written once, in the subset of Python that numba compiles (scalar arithmetic,
`math` functions, loops, indexing of arrays passed in, no allocation of Python objects).
`njit` compiles it with numba (nopython mode, no fast-math, so IEEE results match Python's
floats; cached on disk); without numba, or with MG_KERNEL=python in the environment, the
decorator returns the function unchanged and the same code runs as plain Python. The two
give the same outputs, which tests/signal check against each other and against the numpy
reference stages.

COMPILED says which one is in use; `kernel_name()` names it for benchmarks and logs.
"""
from __future__ import annotations

import os

_WANT = os.environ.get("MG_KERNEL", "auto").strip().lower()
if _WANT not in ("auto", "numba", "python"):
    raise ImportError(f"MG_KERNEL={_WANT!r}: expected auto, numba or python")

try:
    if _WANT == "python":
        raise ImportError("MG_KERNEL=python")
    import numba as _numba
except ImportError:
    if _WANT == "numba":
        raise
    _numba = None

COMPILED = _numba is not None


def njit(fn=None, *, signature: str | None = None):
    """Compile `fn` with numba (nopython, cached, releases the GIL), or return it as it is.

    Used as `@njit` (compiled at the first call, for the argument types of that call) or
    `@njit(signature="void(float64[::1], ...)")`: that one specialisation is compiled, or
    loaded from numba's disk cache, when the module is imported, and a call with other
    argument types is refused (TypeError) instead of compiling anew.
    """
    def wrap(f):
        if _numba is None:
            return f
        opts = {"cache": True, "nogil": True, "fastmath": False}
        if signature is None:
            return _numba.njit(**opts)(f)
        return _numba.njit(signature, **opts)(f)
    return wrap if fn is None else wrap(fn)


def kernel_name() -> str:
    """"numba <version>" or "python" (the uncompiled fallback)."""
    return f"numba {_numba.__version__}" if _numba is not None else "python"
