"""massage-glove: pressure feedback for massage practice from a glove of force sensors."""

__version__ = "0.1.0"

# sim:// and replay:// for serial.serial_for_url in any program that imports the package
from . import urlhandlers as _urlhandlers  # noqa: E402,F401
