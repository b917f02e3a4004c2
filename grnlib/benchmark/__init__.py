"""Benchmarks over many datasets: the Dask sweep, its summaries, the beyond-the-floor study."""
