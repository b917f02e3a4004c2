"""The package version, the one place it is written (``pyproject.toml`` reads it; ``grnlib --version``
prints it). A module of its own at the bottom layer, so a lower layer reads the version without
importing the package root, whose lazy attributes reach the top layer (:mod:`grnlib.api`)."""
__version__ = "0.1.0"
