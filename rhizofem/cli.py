"""The `rhizofem` command: a thin shell around each model's ``run(config)``.

    rhizofem <command> CONFIG.toml --out DIR      run, write DIR/summary.json and fields
    rhizofem <command> --print-config             a commented default config to start from
    mpiexec -n 2 rhizofem <command> CONFIG.toml --out DIR

Every command module exposes ``Config`` (a frozen dataclass, see :mod:`rhizofem.config`),
``run(config, out_dir=None, comm=MPI.COMM_WORLD)`` and a ``CONFIG_TITLE`` for the printed
default config. The configuration and the output folder are checked on every rank before any
work starts (see :mod:`rhizofem.output.run` for the output-folder rule).

Exit status: 0 success; 1 the run failed although its input was fine (disk full, an
unexpected error: the failing rank prints a traceback); 2 rhizofem refused the input or
stopped with its own message (configuration, input data, output folder, convergence);
128 + N stopped by signal N (130 Ctrl-C / SIGINT, 143 SIGTERM). Every failure ends with one
line on stderr, on one rank, and leaves the output folder as it was.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from rhizofem.errors import ConfigError, RhizofemError

# command -> (module, one-line help). Modules are imported only when their command runs,
# so that `rhizofem --help` is quick and one model's import cost never burdens another.
COMMANDS: dict[str, tuple[str, str]] = {
    "sample": ("rhizofem.imaging.sample",
               "generate a synthetic labelled image: root with hairs among soil aggregates"),
    "mesh": ("rhizofem.meshing.pipeline",
             "mesh the soil phase of a labelled image with Gmsh, inlet surfaces tagged"),
    "exudation": ("rhizofem.models.exudation",
                  "transient diffusion from the root and hair contact into the soil (case study 3)"),
    "homogenize": ("rhizofem.models.homogenization",
                   "effective diffusion tensor of a pore-scale image by periodic cell problems (case study 4)"),
    "liquid": ("rhizofem.models.liquid", "water, air and mucilage in an image's pores at chosen water contents (case study 4)"),
    "uptake": ("rhizofem.models.uptake",
               "phosphate and citrate in radially symmetric rhizospheres per root segment (case study 2)"),
    "rhizodeposition": ("rhizofem.models.rhizodeposition",
                        "moving point/line sources summed over a root system, hotspots (case study 1)"),
    "rhizosphere": ("rhizofem.links.rhizosphere",
                    "sand around a root with mucilage from a rhizodeposition run: the image for D_eff(r) (links)"),
    "microbes": ("rhizofem.models.microbes", "DOC diffusion and individual bacteria around a root at the pore scale (case study 5)"),
}

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

EPILOG = """\
parallel: mpiexec -n 2 rhizofem <command> CONFIG.toml --out DIR
output:   DIR appears only when the run succeeds; a failed or stopped run leaves it as it was.
          DIR must be new, empty, or an earlier run of the same command (replaced as a whole);
          --overwrite replaces anything else in it.
exit:     0 ok, 1 run failed (disk full, unexpected error), 2 input refused,
          130 stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM"""


def _parser() -> argparse.ArgumentParser:
    from rhizofem import __version__

    parser = argparse.ArgumentParser(
        prog="rhizofem",
        description="FEniCSx models of the rhizosphere across scales. "
                    "Run `rhizofem <command> --print-config > config.toml` to start.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rhizofem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, (_module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("config", nargs="?", help="TOML configuration file")
        p.add_argument("--out", metavar="DIR", help="output folder (created when the run succeeds)")
        p.add_argument("--overwrite", action="store_true",
                       help="replace whatever DIR holds when the run succeeds (without it, DIR must be "
                            "new, empty, or an earlier run of the same command)")
        p.add_argument("--print-config", action="store_true",
                       help="print a commented default configuration and exit")
    return parser


def command_module(name: str):
    """The module implementing ``name`` (see :data:`COMMANDS`)."""
    module_name = COMMANDS[name][0]
    return importlib.import_module(module_name)


def _line_buffered() -> None:
    # a batch job's log must show progress and results as they come, not at the end
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(line_buffering=True)
            except (ValueError, OSError):
                pass


def _python_signal_handlers() -> None:
    # PETSc installs its own handler for SIGTERM (and others) when it starts, which aborts
    # every rank with a page of messages: leave signals to Python (see stop_on_signals)
    import os

    if "-no_signal_handler" not in os.environ.get("PETSC_OPTIONS", ""):
        os.environ["PETSC_OPTIONS"] = (os.environ.get("PETSC_OPTIONS", "") + " -no_signal_handler").strip()
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None:  # already started (library use): take its handler off again
        petsc.Sys.popSignalHandler()


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (see the module docstring).

    Called without ``argv`` (the installed ``rhizofem`` program) a failed or stopped run ends
    the process at once after its message, so that no half-closed field writer can abort the
    interpreter's shutdown; with ``argv`` (tests) it returns.
    """
    _line_buffered()
    _python_signal_handlers()
    console = argv is None
    if console:
        import faulthandler

        faulthandler.enable()  # a crash in compiled code still says where in Python it happened
    args = _parser().parse_args(argv)
    from mpi4py import MPI

    from rhizofem.output.run import discard_active
    from rhizofem.parallel import signal_name, stop_on_signals

    comm = MPI.COMM_WORLD
    control = comm.Dup()  # for stopping together only: it never pairs with the model's calls
    command = args.command
    kept = f"; nothing of this run was kept, {args.out} is as it was" if args.out else ""
    try:
        with stop_on_signals(control, lambda signum: f"rhizofem {command}: stopped by {signal_name(signum)}{kept}",
                             cleanup=discard_active):
            code = _run(args, comm)
    except RhizofemError as err:
        code = _leave(control, f"rhizofem {command}: error: {err}", err.exit_code, console)
    except Exception:
        print(f"rhizofem {command}: unexpected failure on rank {comm.rank}:", file=sys.stderr)
        traceback.print_exc()
        code = _leave(control, f"rhizofem {command}: failed (see the traceback above)", EXIT_FAILED, console)
    control.Free()
    return code


def _leave(control, line: str, code: int, console: bool) -> int:
    from rhizofem.output.run import signals_ignored
    from rhizofem.parallel import leave_together

    with signals_ignored():  # a second Ctrl-C must not turn the one line into a traceback
        return leave_together(control, line, code, exit_now=console)


def _run(args: argparse.Namespace, comm) -> int:
    from rhizofem.config import default_toml, load
    from rhizofem.output.run import allow_overwrite, check_out_dir
    from rhizofem.parallel import on_root, rank0_print

    module = command_module(args.command)
    if args.print_config:
        if comm.rank == 0:
            sys.stdout.write(default_toml(module.Config, getattr(module, "CONFIG_TITLE", "")))
            sys.stdout.flush()
        return 0
    if not args.config:
        raise ConfigError(f"no configuration file given. Fix: `rhizofem {args.command} CONFIG.toml "
                          f"--out DIR`; `rhizofem {args.command} --print-config` prints one.")
    if not args.out:
        raise ConfigError(f"no output directory given. Fix: add `--out DIR` to `rhizofem {args.command}`.")
    # every rank reads the same file and raises the same error
    config = load(module.Config, args.config)
    if _no_keys(args.config):
        rank0_print(comm, f"rhizofem {args.command}: no keys given in {args.config}: running the defaults "
                          f"of `rhizofem {args.command} --print-config`", file=sys.stderr)
    on_root(comm, check_out_dir, args.out, args.command, overwrite=args.overwrite, bcast=False)
    with allow_overwrite(args.overwrite):
        module.run(config, out_dir=args.out, comm=comm)
    return 0


def _no_keys(path: str) -> bool:
    import tomllib
    from pathlib import Path

    return not tomllib.loads(Path(path).read_text(encoding="utf-8"))


if __name__ == "__main__":
    sys.exit(main())
