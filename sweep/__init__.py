"""Parameter sweeps and sensitivity analysis for dealsim, from a laptop to an HPC cluster.

One concern per module:

* ``definition.py``  sweep files (YAML): reading with line numbers, validation against the scenario schema
* ``design.py``      the runs of a sweep: full grid, Latin hypercube, Sobol (Saltelli) and Morris designs
                     (SALib); each run's id from its parameters and replicate, its seed from the id
* ``runner.py``      one run: overrides applied, the model run, the chosen outputs taken; retries and tracebacks
* ``engines.py``     where runs execute: Dask (local cluster, an existing scheduler, SLURM/PBS via
                     dask-jobqueue), or one shard in this process with no Dask at all
* ``storage.py``     the sweep folder: manifest, design, a Parquet dataset written batch by batch
                     (temporary name, then rename), resuming by skipping stored runs
* ``summary.py``     counts, failures and outcome quantiles by parameter level; CSV export
* ``sensitivity.py`` Sobol indices and Morris elementary effects with SALib, table and plot

The command line (``simulate.py sweep``, ``sweep-results``, ``sensitivity``) is in simulate.py.
"""

from .definition import Output, Parameter, SweepDefinition, SweepError, load_sweep
from .design import Run, build_runs

__all__ = ["Output", "Parameter", "SweepDefinition", "SweepError", "load_sweep", "Run", "build_runs"]
