"""Exception hierarchy: every failure a user can meet has a type and a message that says what to change."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit status of every `edgeperf` command, in one place (README.md has the table): a CI job can tell
    what went wrong from it. When several apply to one run, the largest of 1, 3 and 4 is the status."""

    OK = 0
    #: Everything ran, but a check the command was asked to enforce failed (`--require`, `--fail-above`).
    CHECK_FAILED = 1
    #: The command line could not be parsed (argparse).
    USAGE = 2
    #: A setting, option value, description file, model, dataset or results folder is wrong: fix the input.
    CONFIG = 3
    #: The board, its link, a power monitor or the virtual bench failed: look at the hardware.
    DEVICE = 4
    INTERRUPTED = 130


class EdgeperfError(Exception):
    """Base of every error edgeperf raises on purpose."""

    #: What the command exits with when this error stops it, or stops one benchmark of a run.
    exit_code: ExitCode = ExitCode.CONFIG

    #: Recovery stops at once on a fatal error: nothing more can be measured (a board nobody can reset,
    #: a monitor that could not be reopened).
    fatal: bool = False

    def __init__(self, *args: object, fatal: bool | None = None) -> None:
        super().__init__(*args)
        if fatal is not None:
            self.fatal = fatal


class ConfigError(EdgeperfError):
    """A setting, option or description file is wrong."""


class RequirementFailed(ConfigError):
    """The input is complete and well-formed but misses a check the command enforces (the closed division's
    rules, say): "completed, but a required check failed", not an input to fix."""

    exit_code = ExitCode.CHECK_FAILED


class ModelError(EdgeperfError):
    """A model file is missing, unreadable or does not fit the benchmark."""


class DatasetError(EdgeperfError):
    """A dataset file or label list is missing or does not match the model."""


class LinkError(EdgeperfError):
    """The byte link to a board failed (cannot open, closed, timed out)."""

    exit_code = ExitCode.DEVICE


class LinkTimeout(LinkError):
    """No complete reply arrived in time."""


class ProtocolError(EdgeperfError):
    """The peer sent something the protocol does not allow."""

    exit_code = ExitCode.DEVICE


class DeviceError(EdgeperfError):
    """The board reported an error (an ``e-`` line) or behaved in a way that makes its result unusable."""

    exit_code = ExitCode.DEVICE


class BoardReset(DeviceError):
    """The board printed its boot banner in the middle of a command: it reset (brown-out, watchdog, unplug)."""


class BoardHung(DeviceError):
    """The board stopped answering and edgeperf knows no way to reset it."""

    fatal = True


class SimulatorError(EdgeperfError):
    """The virtual bench could not be started or stopped."""

    exit_code = ExitCode.DEVICE


class MonitorError(EdgeperfError):
    """A power monitor refused a command, stopped streaming, or lost samples."""

    exit_code = ExitCode.DEVICE


class MeasurementRejected(EdgeperfError):
    """A measurement the rule cannot trust although the board is fine: it is taken again, no recovery needed."""

    exit_code = ExitCode.DEVICE


class EnergyWindowError(MeasurementRejected):
    """An energy window cannot be trusted: a spurious or missing timestamp edge, lost or malformed samples."""


class ResultsWriteError(EdgeperfError):
    """A results file could not be written (a full disk, a read-only folder): the run stops at once, and
    what was written before stays as it was (files are replaced atomically, journals are appended)."""

    fatal = True

    @classmethod
    def of(cls, path: object, exc: OSError) -> ResultsWriteError:
        return cls(f"cannot write {path}: {exc.strerror or exc}")


class RunFailed(EdgeperfError):
    """A run finished without a result (the board was wrong, hung, or refused): its record names why.

    Its `exit_code` is the failure's own, so a lab script can tell a wrong setting (CONFIG) from a board or
    bench that failed (DEVICE) as the command line does."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.DEVICE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ResultError(EdgeperfError):
    """A result was asked for a number its mode does not measure (the latency of an energy run, say)."""


def exit_code_of(type_name: str) -> ExitCode:
    """The exit code of an error known only by its type's name (a failed run recorded by an older edgeperf or
    a board process that died): a type edgeperf does not know counts as a device failure."""
    pending: list[type[EdgeperfError]] = [EdgeperfError]
    while pending:
        cls = pending.pop()
        if cls.__name__ == type_name:
            return cls.exit_code
        pending += cls.__subclasses__()
    return ExitCode.DEVICE
