"""The ``dbx-ops`` command: thin over the library.

Each module in this package that defines ``register(subparsers)`` adds its
commands; a command's handler returns an exit code (0 ok, 1 a check said no,
2 bad input or environment). :func:`main` turns every
:class:`~dbx_ops.errors.DbxOpsError` into one line on stderr and its code (a message that
holds line breaks, such as a user's value quoted in it, is folded onto that line), and an
unreadable file (not UTF-8, a folder, no permission) into one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from dbx_ops import __version__
from dbx_ops.errors import DbxOpsError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command module registered."""
    parser = argparse.ArgumentParser(
        prog="dbx-ops",
        description="Take changes to Databricks production safely.",
    )
    parser.add_argument("--version", action="version", version=f"dbx-ops {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except DbxOpsError as exc:
        _error(str(exc))
        return exc.exit_code
    except UnicodeDecodeError as exc:  # a file read outside the library's own readers
        _error(f"A file is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8.")
        return 2
    except OSError as exc:  # a path the user gave is a folder, unreadable, or on a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}.")
        return 2
    except KeyboardInterrupt:
        _error("interrupted.")
        return 130


def one_line(text: str) -> str:
    """``text`` on one line: line breaks (any of Unicode's) folded to single spaces."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _error(message: str) -> None:
    """The one sentence on stderr every failure ends with: one line, whatever the message held."""
    print(f"error: {one_line(message) or 'failed.'}", file=sys.stderr)


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
