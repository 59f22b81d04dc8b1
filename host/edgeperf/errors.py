"""Exception hierarchy: every failure a user can meet has a type and a message that says what to change."""

from __future__ import annotations


class EdgeperfError(Exception):
    """Base of every error edgeperf raises on purpose."""

    #: Recovery stops at once on a fatal error: nothing more can be measured (a board nobody can reset,
    #: a monitor that could not be reopened).
    fatal: bool = False

    def __init__(self, *args: object, fatal: bool | None = None) -> None:
        super().__init__(*args)
        if fatal is not None:
            self.fatal = fatal


class ConfigError(EdgeperfError):
    """A setting, option or description file is wrong."""


class ModelError(EdgeperfError):
    """A model file is missing, unreadable or does not fit the benchmark."""


class DatasetError(EdgeperfError):
    """A dataset file or label list is missing or does not match the model."""


class LinkError(EdgeperfError):
    """The byte link to a board failed (cannot open, closed, timed out)."""


class LinkTimeout(LinkError):
    """No complete reply arrived in time."""


class ProtocolError(EdgeperfError):
    """The peer sent something the protocol does not allow."""


class DeviceError(EdgeperfError):
    """The board reported an error (an ``e-`` line) or behaved in a way that makes its result unusable."""


class BoardReset(DeviceError):
    """The board printed its boot banner in the middle of a command: it reset (brown-out, watchdog, unplug)."""


class BoardHung(DeviceError):
    """The board stopped answering and edgeperf knows no way to reset it."""

    fatal = True


class SimulatorError(EdgeperfError):
    """The virtual bench could not be started or stopped."""


class MonitorError(EdgeperfError):
    """A power monitor refused a command, stopped streaming, or lost samples."""


class MeasurementRejected(EdgeperfError):
    """A measurement the rule cannot trust although the board is fine: it is taken again, no recovery needed."""


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
    """A run finished without a result (the board was wrong, hung, or refused): its record names why."""


class ResultError(EdgeperfError):
    """A result was asked for a number its mode does not measure (the latency of an energy run, say)."""
