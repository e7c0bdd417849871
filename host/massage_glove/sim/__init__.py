"""The simulated glove: the real firmware in the MicroPython unix port, driven by a scripted force model."""
