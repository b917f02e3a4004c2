"""Paired A/B timing summaries shared by the speed comparisons (``genie3_speed.py``, ``phase4_speed.py``):
each pair is one run of the previous setting and one of the current one, interleaved on the same seed, so
that other people's load on a shared machine hits both alike."""
from __future__ import annotations

import statistics


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "mean": statistics.fmean(values),
            "min": min(values), "max": max(values), "n": len(values)}


def paired_summary(pairs: list[tuple[dict, dict]], seconds_name: str = "seconds", quality_pairs=None) -> dict:
    """Speed-up (previous / current, wall and CPU) over ``pairs`` of (previous, current) rows with
    ``seconds`` and ``cpu_seconds``; the AUROC differences (current - previous) over ``quality_pairs``
    (default ``pairs``) with ``val_auroc``/``test_auroc``, and whether their means lie within ±0.005."""
    diffs = {part: [b[f"{part}_auroc"] - a[f"{part}_auroc"] for a, b in (quality_pairs or pairs)]
             for part in ("val", "test")}
    return {"speedup": spread([a["seconds"] / b["seconds"] for a, b in pairs]),
            "speedup_cpu": spread([a["cpu_seconds"] / b["cpu_seconds"] for a, b in pairs]),
            f"current_{seconds_name}": spread([b["seconds"] for _, b in pairs]),
            f"previous_{seconds_name}": spread([a["seconds"] for a, _ in pairs]),
            "auroc_diff": {part: spread(values) for part, values in diffs.items()},
            "within_0_005": all(abs(spread(v)["mean"]) <= 0.005 for v in diffs.values())}


def summary_lines(result: dict, seconds_name: str = "seconds") -> list[str]:
    """The printed form of :func:`paired_summary`'s keys in ``result``."""
    s, c, d = result["speedup"], result["speedup_cpu"], result["auroc_diff"]
    lines = [f"  previous {result[f'previous_{seconds_name}']['median']:.1f} s median; current "
             f"{result[f'current_{seconds_name}']['median']:.1f} s median",
             f"  speed-up previous/current, wall: median {s['median']:.2f}x (min {s['min']:.2f}, max {s['max']:.2f}); "
             f"cpu: median {c['median']:.2f}x (min {c['min']:.2f}, max {c['max']:.2f})"]
    lines += [f"  {part} AUROC current - previous: mean {d[part]['mean']:+.4f} "
              f"(min {d[part]['min']:+.4f}, max {d[part]['max']:+.4f})" for part in ("val", "test")]
    return lines + [f"  mean paired AUROC differences within +-0.005: {result['within_0_005']}"]
