"""The `rhizofem` command: a thin shell around each model's ``run(config)``.

    rhizofem <command> CONFIG.toml --out DIR      run, write DIR/summary.json and fields
    rhizofem <command> --print-config             a commented default config to start from
    mpiexec -n 4 rhizofem <command> CONFIG.toml --out DIR

Every command module exposes ``Config`` (a frozen dataclass, see :mod:`rhizofem.config`),
``run(config, out_dir=None, comm=MPI.COMM_WORLD)`` and a ``CONFIG_TITLE`` for the printed
default config. The configuration is read and validated on every rank before any work
starts; a bad one stops the command with exit code 2 and one message naming the key.
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
}

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    from rhizofem import __version__

    parser = argparse.ArgumentParser(
        prog="rhizofem",
        description="FEniCSx models of the rhizosphere across scales. "
                    "Run `rhizofem <command> --print-config > config.toml` to start.",
        epilog="Parallel: mpiexec -n 4 rhizofem <command> CONFIG.toml --out DIR",
    )
    parser.add_argument("--version", action="version", version=f"rhizofem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, (_module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("config", nargs="?", help="TOML configuration file")
        p.add_argument("--out", metavar="DIR", help="output directory (created if needed)")
        p.add_argument("--print-config", action="store_true",
                       help="print a commented default configuration and exit")
    return parser


def command_module(name: str):
    """The module implementing ``name`` (see :data:`COMMANDS`)."""
    module_name = COMMANDS[name][0]
    return importlib.import_module(module_name)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mpi4py import MPI

    from rhizofem.config import default_toml, load

    comm = MPI.COMM_WORLD
    module = command_module(args.command)

    if args.print_config:
        if comm.rank == 0:
            sys.stdout.write(default_toml(module.Config, getattr(module, "CONFIG_TITLE", "")))
        return 0
    try:
        if not args.config:
            raise ConfigError(f"no configuration file given. Fix: `rhizofem {args.command} CONFIG.toml "
                              f"--out DIR`; `rhizofem {args.command} --print-config` prints one.")
        if not args.out:
            raise ConfigError(f"no output directory given. Fix: add `--out DIR` to `rhizofem {args.command}`.")
        config = load(module.Config, args.config)
    except ConfigError as err:
        # every rank read the same file and raises the same error: report it once
        if comm.rank == 0:
            print(f"rhizofem {args.command}: error: {err}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT

    try:
        module.run(config, out_dir=args.out, comm=comm)
    except RhizofemError as err:
        # rhizofem's own errors are raised on every rank (see rhizofem.parallel)
        if comm.rank == 0:
            print(f"rhizofem {args.command}: error: {err}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT
    except Exception:
        print(f"rhizofem {args.command}: unexpected failure on rank {comm.rank}:", file=sys.stderr)
        traceback.print_exc()
        sys.stderr.flush()
        if comm.size > 1:
            comm.Abort(1)  # the other ranks may be waiting in a collective call
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
