"""The data layer's error types live at the package's bottom (:mod:`grnlib.errors`); re-exported here."""
from grnlib.errors import DataError, DataWarning

__all__ = ["DataError", "DataWarning"]
