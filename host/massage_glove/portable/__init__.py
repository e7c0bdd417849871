"""Code that runs unchanged under MicroPython (in the simulated glove) and CPython."""
