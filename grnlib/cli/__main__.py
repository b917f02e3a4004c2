"""``python -m grnlib.cli``: the ``grnlib`` command without the console script."""
import sys

from grnlib.cli import main

sys.exit(main())
