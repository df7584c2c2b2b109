"""Layer 4, studies: experiments that fabricate chips, run algorithms on them and score them.

Training runs and the temperature study (``training``), the copy-out study (``copyout``)
and Monte Carlo sweeps on Dask (``sweep``).  Studies fabricate chips and, as scorers, may read
their hidden state; they return data (dicts, dataclasses, tables) and draw nothing.  May
import ``algorithms``, ``chip``, ``hardware`` and the shared leaves; never ``faces``.
"""
