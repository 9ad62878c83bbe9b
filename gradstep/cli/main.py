"""``gradstep`` command: argparse dispatch to the subcommands.

Each subcommand lives in its own module of :mod:`gradstep.cli` with
``add_parser(subparsers)``, which registers its arguments and sets
``run=function(args) -> exit code``. Modules listed in ``COMMANDS`` come first
in ``--help``; any other module of the package with an ``add_parser`` is picked
up too, so a new command is one new file.

Every failure ends with one line on stderr and a non-zero exit code (2 for
bad usage, 1 for everything else), never a traceback; set ``GRADSTEP_DEBUG=1``
to see the traceback of an unexpected error.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

__all__ = ["main", "build_parser", "UsageError", "ArgumentParser", "COMMANDS"]

COMMANDS = ["train", "eval", "predict", "runs"]


class UsageError(Exception):
    """Bad command-line usage: exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with a pointer to --help), not usage + error."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _command_modules() -> list:
    from .. import cli

    names = list(COMMANDS)
    for info in pkgutil.iter_modules(cli.__path__):
        if not info.name.startswith("_") and info.name not in names and info.name != "main":
            names.append(info.name)
    modules = []
    for name in names:
        try:
            module = importlib.import_module(f"{cli.__name__}.{name}")
        except ImportError:
            if name in COMMANDS:
                raise
            continue  # another engineer's half-written command must not break the others
        if callable(getattr(module, "add_parser", None)):
            modules.append(module)
    return modules


def build_parser() -> ArgumentParser:
    from .. import __version__

    parser = ArgumentParser(
        prog="gradstep",
        description="gradstep: train, evaluate and inspect neural networks built on NumPy.",
        epilog="Run 'gradstep COMMAND --help' for a command's options. "
               "'gradstep train' with no options trains an MLP on the bundled digits dataset.",
    )
    parser.add_argument("--version", action="version", version=f"gradstep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for module in _command_modules():
        module.add_parser(sub)
    return parser


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, KeyError) and text.startswith(("'", '"')) and text.endswith(("'", '"')):
        text = text[1:-1]  # KeyError quotes its message
    return text or type(error).__name__


def main(argv=None) -> int:
    """Entry point of the ``gradstep`` console script; returns the exit code."""
    code = _main(argv)
    if code and sys.modules.get("gradstep.distributed") is not None:
        from .. import distributed as dist

        if dist.is_initialized() and dist.get_world_size() > 1:
            # the other ranks would wait for this one in their next collective: end them all
            dist.abort(f"gradstep failed on this rank (exit code {code}; see above); stopping every rank", code)
    return code


def _main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 0
        import numpy

        # Overflow/NaN are reported by the training loop itself, in one line; NumPy's warnings would only add noise.
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return int(args.run(args) or 0)
    except UsageError as e:
        print(f"{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gradstep: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # argparse --help / --version
        return e.code if isinstance(e.code, int) else 0
    except BrokenPipeError:
        return 1
    except Exception as e:  # noqa: BLE001 - the command line never shows a traceback
        if os.environ.get("GRADSTEP_DEBUG"):
            raise
        from ..errors import GradstepError

        expected = isinstance(e, (GradstepError, ValueError, TypeError, OSError, KeyError, ArithmeticError,
                                  ImportError, IndexError))
        prefix = "gradstep: error: " if expected else f"gradstep: internal error ({type(e).__name__}): "
        suffix = "" if expected else " (set GRADSTEP_DEBUG=1 to see the traceback)"
        where = getattr(e, "run_dir", None)
        kept = getattr(e, "last_checkpoint", None)
        tail = f" [run folder: {where}" + (f"; last good checkpoint kept: {kept}" if kept else "") + "]" if where else ""
        print(prefix + _one_line(e) + tail + suffix, file=sys.stderr)
        from ..train.config import ConfigError

        return 2 if isinstance(e, ConfigError) else 1


if __name__ == "__main__":
    sys.exit(main())
