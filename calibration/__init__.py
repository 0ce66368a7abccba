"""Calibration of dealsim against Wigan's observed series.

* ``targets.py``     the observed series, their observation models and the fit/holdout split (``targets/*.yaml``)
* ``config.py``      calibration settings: scenario, targets, scale, ABC settings, free parameters and priors
* ``abc.py``         ABC-SMC with pyabc: model function, distance, sampler, resuming, the posterior files
* ``validate.py``    posterior predictive checks against every fit and holdout target, fan charts
* ``simulation.py``  one simulation for calibration and validation (through runs.single.run_one)
* ``posterior_io.py`` reading and drawing from a posterior (``posterior/wigan.csv``), without pyabc

Other commands use the calibrated posterior through::

    from calibration import load_posterior, posterior_draws
"""

from model.yamlfile import InputError as CalibrationError  # a bad calibration, targets or posterior file

from .posterior_io import DEFAULT_POSTERIOR, Posterior, load_posterior, posterior_draws

__all__ = ["CalibrationError", "DEFAULT_POSTERIOR", "Posterior", "load_posterior", "posterior_draws"]
