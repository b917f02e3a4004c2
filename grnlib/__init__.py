"""grnlib: supervised GRN link prediction."""
__version__ = "0.1.0"
