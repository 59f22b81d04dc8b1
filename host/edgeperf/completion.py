"""Tab completion of every `edgeperf` subcommand and option, through argcomplete: `edgeperf completion bash`
prints the script a shell sources; the completions themselves come from the parser, so they never drift."""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh")


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer a completion request from the shell script and exit; a no-op on an ordinary command line."""
    import argcomplete

    argcomplete.autocomplete(parser)


def cmd_completion(args: argparse.Namespace) -> int:
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["edgeperf"], shell=args.shell))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `edgeperf completion SHELL` to the parser."""
    completion = sub.add_parser("completion", help="print the shell completion script: "
                                                   "eval \"$(edgeperf completion bash)\" (or zsh) in your shell's rc")
    completion.add_argument("shell", choices=SHELLS)
    completion.set_defaults(func=cmd_completion)
