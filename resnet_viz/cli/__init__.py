"""The command line: `python -m resnet_viz summary | graph | gradflow | features | runs`, and the insights
(`landscape | lesion | erf | responses | shattered`)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from ..errors import UserError
from . import summary
from .common import Parser, fail

__all__ = ["main"]

# Each subcommand module has register(subparsers); a module that is not there yet is skipped.
_COMMANDS = ("summary", "graph", "gradflow", "features", "runs", "insights")


def _parser() -> Parser:
    p = Parser(prog="python -m resnet_viz", description="Build, trace and look inside ResNets.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    summary.register(sub)
    import importlib

    for name in _COMMANDS[1:]:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # torch warns on stderr when a file's pickle protocol is not its default; the file is then opened or refused in
    # one sentence anyway, so the warning would only turn the one `error:` line into three.
    warnings.filterwarnings("ignore", message=r"Detected pickle protocol", category=UserWarning)
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UserError as e:
        fail(e.message())
    except BrokenPipeError:  # `... | head` closed the pipe
        sys.stderr.close()
        return 0
