"""Outputs of a run: the run directory (staged, published atomically), summary.json,
CSV tables, progress bars, and plots (:mod:`rhizofem.output.plots`)."""

from rhizofem.output.progress import progress
from rhizofem.output.run import RunOutput, json_ready, write_csv

__all__ = ["RunOutput", "json_ready", "progress", "write_csv"]
