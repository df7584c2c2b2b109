"""How long a crossbar read takes to settle: Elmore delays of its lines (layer 1: hardware).

Contract
--------
Pure functions of scalars (no state, no arrays), SI units (ohms, farads, seconds):

* :func:`elmore_delay_s`: the Elmore delay at the far end of a uniform RC ladder (a wire of
  ``n`` segments, each ``r`` ohms and ``c`` farads, driven through a source resistance);
* :func:`line_time_constant_s`: a crossbar tile's row and column ladders added, the
  time constant of a read from the DAC step to the sensed column current;
* :func:`settling_time_s`: the time for a single-pole response of that time constant to
  come within half an LSB of a ``bits``-bit converter, ``tau ln(2**(bits + 1))``.

The Elmore delay is the first moment of the impulse response (W. C. Elmore, J. Appl. Phys.
19, 55 (1948)); for an RC tree it bounds the 50 % delay from above and is the time constant
of the dominant pole (J. Rubinstein, P. Penfield, M. A. Horowitz, IEEE TCAD 2(3), 202
(1983)).  A crossbar is a mesh, not a tree: the estimate treats the row line and the column
line as two ladders in series (the cells, kilo-ohms or more, barely load the milliohm-to-ohm
wires), which is what NeuroSim does too (``horowitz(tau, ...)`` on the row and column RC in
``SubArray.cpp``).  H3's ngspice ``.tran`` runs check it.

Layer 1 (hardware): imports only the shared leaves.
"""

from __future__ import annotations

import math

from neuromorph import _validate as check

__all__ = ["elmore_delay_s", "line_time_constant_s", "settling_time_s"]


def elmore_delay_s(
    n_segments: int,
    r_segment_ohm: float,
    c_segment_f: float,
    *,
    r_source_ohm: float = 0.0,
    c_load_f: float = 0.0,
) -> float:
    """Elmore delay at the far end of a uniform RC ladder, seconds.

    Node ``k`` (``1..n``) sits ``k`` segments from the source and carries ``c_segment_f``;
    the far node also carries ``c_load_f``.  The delay is ``sum_k R(source -> k) C_k`` with
    ``R(source -> k) = r_source + k r``::

        tau = r_source (n c + c_load) + r c n (n + 1) / 2 + n r c_load

    Parameters
    ----------
    n_segments : int >= 0
        Segments of the line (cells along it).
    r_segment_ohm, c_segment_f : float >= 0
        Resistance and capacitance of one segment, ohms and farads.
    r_source_ohm : float >= 0
        Resistance of whatever drives the near end (row driver, column sense), ohms.
    c_load_f : float >= 0
        Extra capacitance at the far end, farads.
    """
    n = check.integer("n_segments", n_segments, minimum=0)
    r = check.non_negative("r_segment_ohm", r_segment_ohm)
    c = check.non_negative("c_segment_f", c_segment_f)
    r0 = check.non_negative("r_source_ohm", r_source_ohm)
    cl = check.non_negative("c_load_f", c_load_f)
    return r0 * (n * c + cl) + r * c * n * (n + 1) / 2 + n * r * cl


def line_time_constant_s(
    n_rows: int,
    n_cols: int,
    *,
    r_row_ohm: float,
    r_col_ohm: float,
    c_segment_f: float,
    r_driver_ohm: float = 0.0,
    r_sense_ohm: float = 0.0,
) -> float:
    """Time constant of a tile read, seconds: the row ladder plus the column ladder.

    A row line crosses ``n_cols`` physical columns and is driven through ``r_driver_ohm``;
    a column line crosses ``n_rows`` rows and ends in the sense (``r_sense_ohm``; 0 for a
    virtual ground).  Each is a uniform ladder (:func:`elmore_delay_s`) and the read waits
    for both, so their Elmore delays add.
    """
    row = elmore_delay_s(n_cols, r_row_ohm, c_segment_f, r_source_ohm=r_driver_ohm)
    col = elmore_delay_s(n_rows, r_col_ohm, c_segment_f, r_source_ohm=r_sense_ohm)
    return row + col


def settling_time_s(tau_s: float, bits: int) -> float:
    """Time for a single-pole step response to settle within half an LSB, seconds.

    ``exp(-t / tau) <= 2**-(bits + 1)`` gives ``t = tau (bits + 1) ln 2``: the settling a
    ``bits``-bit converter needs (half an LSB of its full scale).

    Parameters
    ----------
    tau_s : float >= 0
        Time constant, seconds (e.g. :func:`line_time_constant_s`).
    bits : int >= 1
        Resolution of the converter that reads the settled value.
    """
    tau_s = check.non_negative("tau_s", tau_s)
    bits = check.integer("bits", bits, minimum=1)
    return tau_s * (bits + 1) * math.log(2.0)
