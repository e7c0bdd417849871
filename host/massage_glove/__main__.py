"""`python -m massage_glove ...` is `massage-glove ...`."""
import sys

from .cli import main

sys.exit(main())
