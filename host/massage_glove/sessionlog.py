"""Session logs (writer, reader, CSV export, sessions directory): the public names of massage_glove.log."""
from __future__ import annotations

from .log import *  # noqa: F401,F403
from .log import __all__  # noqa: F401
