"""Outputs of a run: the run folder (staged, published whole), summary.json, CSV tables,
progress and stage lines, the final report lines, and plots (:mod:`rhizofem.output.plots`)."""

from rhizofem.output.progress import format_duration, progress, simulated_time, stage
from rhizofem.output.run import RunOutput, json_ready, report_lines, vtx_bytes, write_csv

__all__ = ["RunOutput", "format_duration", "json_ready", "progress", "report_lines", "simulated_time", "stage",
           "vtx_bytes", "write_csv"]
