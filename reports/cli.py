"""The ``maml-theory`` command line: a thin layer over the Python API.

Bad input gets one line naming the parameter and its allowed range, and exit code 2, never a traceback.
Exit codes: 0 done; 1 from ``verify`` only (a claim fails or cannot be judged); 2 a usage mistake; 130
interrupted (Ctrl-C); 141 = 128 + SIGPIPE when stdout's reader went away before the output was written
(``maml-theory derive anil | head -1``): the command stops quietly, as a program killed by SIGPIPE would, so
that a pipeline under ``set -o pipefail`` still sees the output was cut.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from maml_theory.numerics.landscape.instances import DegenerateInstance
from maml_theory.numerics.validation import ParameterError
from maml_theory.reports import (
    baselines_command,
    derive_command,
    dynamics_command,
    figures_command,
    floor_command,
    landscape_command,
    report_command,
    sweep_command,
    verify_command,
)
from maml_theory.reports.arguments import ARRAY_NAMES
from maml_theory.reports.sweep import ConfigError

STDOUT_CLOSED = 141
"""Exit code when stdout's reader went away: 128 + SIGPIPE (13), what a shell reports for a program killed by
SIGPIPE."""


class UsageError(Exception):
    """A command-line mistake, reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default prints the usage block too
        # An argument holding a line break (argparse echoes unrecognized ones as typed) stays on one line.
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        raise UsageError(f"{self.prog}: error: {message}")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> object:
        # Python 3.11's argparse drops "--" given as an option's value (--out=--) and hands the command an
        # empty list instead of a string: keep the "--", for the command to judge like any other text.
        if arg_strings == ["--"] and action.option_strings and action.nargs is None:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="maml-theory",
        description="Symbolic-plus-numeric verifier for the theory of MAML and ANIL.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    landscape_command.add_parser(commands)
    dynamics_command.add_parser(commands)
    floor_command.add_parser(commands)
    baselines_command.add_parser(commands)
    derive_command.add_parser(commands)
    figures_command.add_parser(commands)
    verify_command.add_parser(commands)
    report_command.add_parser(commands)
    sweep_command.add_parser(commands)
    return parser


def parameter_message(e: ParameterError, args: argparse.Namespace | None) -> str:
    """``e`` as the command line says it: the flag, its allowed range and what was typed."""
    # Echo what was typed, not the number it was parsed into; but a bad --init file's reason is in e.got,
    # which names the path too, and a bad --at point's e.got is the pair at fault, not the whole list.
    typed = getattr(args, e.name, None)
    got = typed if isinstance(typed, str) and e.name not in ("init", "at") else e.got
    name = f"--init array {e.name}" if e.name in ARRAY_NAMES else "--" + e.name.replace("_", "-")
    return f"{name} must be {e.allowed} (got {got!r})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        code = args.run(args)
        sys.stdout.flush()  # the output still buffered: a reader gone is found here, not at interpreter exit
        return code
    except BrokenPipeError:
        # Python ignores SIGPIPE, so a closed stdout raises instead of killing the process. Later writes (the
        # interpreter flushes stdout at exit) go to /dev/null, so that nothing more is said.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return STDOUT_CLOSED
    except UsageError as e:
        print(e, file=sys.stderr)
    except ParameterError as e:
        print(f"maml-theory: error: {parameter_message(e, args)}", file=sys.stderr)
    except (DegenerateInstance, ConfigError) as e:
        print(f"maml-theory: error: {e}", file=sys.stderr)
    except MemoryError as e:  # sizes so large that their arrays cannot be allocated
        print(f"maml-theory: error: not enough memory for these sizes ({e})", file=sys.stderr)
    except KeyboardInterrupt:
        print("maml-theory: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
