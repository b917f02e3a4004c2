"""Speed and scale benchmarks of grnlib (``make bench`` runs ``benchmarks/run.py``)."""
