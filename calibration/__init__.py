"""Calibration of dealsim against Wigan's observed series (issue 3).

* ``targets.py``     the observed series, their observation models and the fit/holdout split (``targets/*.yaml``)
* ``config.py``      calibration settings: scenario, targets, scale, ABC settings, free parameters and priors
* ``abc.py``         ABC-SMC with pyabc: model function, distance, sampler, resuming, the posterior files
* ``validate.py``    posterior predictive checks against every fit and holdout target, fan charts
* ``cli.py``         the ``calibrate`` and ``validate`` commands
* ``posterior_io.py`` reading and drawing from a posterior (``posterior/wigan.csv``), without pyabc

Other commands use the calibrated posterior through::

    from calibration import load_posterior, posterior_draws
"""

from .posterior_io import DEFAULT_POSTERIOR, Posterior, load_posterior, posterior_draws

__all__ = ["DEFAULT_POSTERIOR", "Posterior", "load_posterior", "posterior_draws"]
