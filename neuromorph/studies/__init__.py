"""Layer 4, studies: experiments that fabricate chips, run algorithms on them and score them.

Training runs, chip designs and the temperature study (``training``), the copy-out study
(``copyout``), the scores of a copy (``scoring``), the preset check against the sources'
numbers (``presets``, a package: sources, measure, checks, registry) and Monte Carlo sweeps
on Dask (``sweep``, a package: spec, seeds, task, engine, results).  Studies fabricate chips
and, as scorers, may read their hidden state; they return data (dicts, dataclasses, tables)
and draw nothing.  May import ``algorithms``, ``chip``, ``hardware`` and the shared leaves;
never ``faces``.
"""
