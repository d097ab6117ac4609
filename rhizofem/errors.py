"""The errors rhizofem raises on purpose.

Each message names what is wrong (the file, the key, the label, the tag) and how to fix it,
so that a user never has to read a traceback to learn what to change.
"""


class RhizofemError(Exception):
    """Base class of rhizofem's own errors; the CLI prints these without a traceback.

    ``exit_code`` is the command's exit status for this error (2: the input must change).
    """

    exit_code = 2


class ConfigError(RhizofemError, ValueError):
    """A configuration that cannot be run (unknown key, wrong type, bad value, missing file)."""


class InputError(RhizofemError, ValueError):
    """Input data that cannot be used: a corrupt mesh, a missing label, an empty inlet, ..."""


class ConvergenceError(RhizofemError, RuntimeError):
    """A linear or nonlinear solver that did not converge, with its reason and iteration count."""


class OutputError(RhizofemError):
    """An output folder that cannot be used: an existing file, foreign files, not writable."""


class DiskFullError(OutputError):
    """No space left (or over quota) where the run writes; nothing of the run is kept.

    Exit status 1: the input was fine, the machine was not.
    """

    exit_code = 1
