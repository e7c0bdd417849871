"""massage-glove: pressure feedback for massage practice from a glove of force sensors."""

__version__ = "0.1.0"
