"""The user-facing Python API (scverse style): ``grnlib.fit(adata, net) -> GRNModel``; ``.rank()``, ``.save()``, ``grnlib.load()``."""
