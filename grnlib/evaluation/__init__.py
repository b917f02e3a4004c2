"""Evaluation: metrics, protocols, baselines, audit, presets and the run pipeline."""
