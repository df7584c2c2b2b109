"""Exceptions raised by neuromorph.

Value and type problems raise the builtin :class:`ValueError` / :class:`TypeError`
with the message grammar "``<name>`` must be ``<rule>``; got ``<value>``. ``<hint>``".
Domain failures raise a subclass of :class:`NeuromorphError`.
"""

from __future__ import annotations


class NeuromorphError(Exception):
    """Base class of neuromorph's domain errors."""


class ConvergenceError(NeuromorphError):
    """An iterative solver did not reach its tolerance (it never returns a wrong answer)."""


class NgspiceNotFoundError(NeuromorphError):
    """ngspice or its shared library ``libngspice.so`` is not installed."""


class SpiceTimeoutError(NeuromorphError, TimeoutError):
    """An ngspice run did not finish within its ``timeout_s``; it was halted where ngspice can halt it."""


class ChipFileError(NeuromorphError):
    """A saved chip or network file is missing, truncated, altered or of the wrong kind."""


class PortAccessError(NeuromorphError):
    """An algorithm tried to reach hidden chip state through a port."""


class LegacyFileWarning(UserWarning):
    """A file of an older format was read: some of its content is not covered by a checksum."""
