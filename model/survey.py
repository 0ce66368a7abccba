"""The July survey and census: who is asked about their health, and the whole population's health.

ONS's healthy life expectancy comes from the Annual Population Survey: residents aged 16+ in private
households (at home, or at home with care; not care homes or hospitals), a few thousand a year in a borough.
The model interviews `observation.survey_per_year` of its residents in that frame each July, and also counts
the good health of everyone (the "census" and the true-prevalence basis, measures.py).

Respondents are the smallest survey keys of the year among the frame (rng.py), so a Deal run and its no-Deal
twin interview the same people wherever those people are alive and in the frame in both. At a scale below 1
each simulated resident stands for several people, so each carries `survey_copies` keys.
"""

from __future__ import annotations

import mesa
import numpy as np

from . import demography as dg
from . import health as H
from . import passes as ps
from .calendar import year_of
from .rng import uniforms

SURVEY_MIN_AGE = 16.0  # the Annual Population Survey's frame: residents of private households aged 16+
MAX_SURVEY_COPIES = 64


def survey_copies(scale: float, residents: int, respondents: int) -> int:
    """How many people each simulated resident stands for in the survey's frame: the survey samples people, not
    agents, so at scale 0.1 a resident could be up to ten respondents. Only as many copies as keep the frame at
    least ten times the sample are drawn (fixed from the initial population, so both arms use the same)."""
    need = int(np.ceil(10.0 * respondents / max(residents, 1)))
    return int(min(MAX_SURVEY_COPIES, max(1, round(1.0 / scale)), max(1, need)))


def mid_year(model: mesa.Model, m: int, tkk: ps.TallyK, dk: dg.DeathK) -> np.ndarray:
    """July: exposure by sex and band, the whole population's good health, the deaths the living's hazards imply
    over the year (dk: the month's mortality constants), and the survey; hands them to the model's recorder and
    returns the respondents (indices)."""
    r = model.residents
    n = r.n
    blocks = ps.n_blocks(n)
    exposure = np.zeros((blocks, 2, ps.N_BANDS))
    good = np.zeros((blocks, 2, ps.N_BANDS))
    expected = np.zeros((blocks, 2, ps.N_BANDS))
    frame = np.empty(n, np.bool_)
    ps.mid_year(n, ps.cols(r), tkk, dk, SURVEY_MIN_AGE, exposure, good, expected, frame)
    elig = np.flatnonzero(frame)
    ns = model.sc.observation.survey_per_year
    copies = survey_copies(model.scale, model.n0, ns)
    ids = (r.key[elig][:, None] * copies + np.arange(copies)).ravel()
    u = uniforms(model.keys.month("survey", "pick", year_of(m)), ids)
    pos = np.argpartition(u, ns - 1)[:ns] if ns < u.size else np.arange(u.size)
    pick = elig[np.sort(pos) // copies]
    model.recorder.mid_year(m, exposure.sum(axis=0), good.sum(axis=0), expected.sum(axis=0), r.age[pick], r.sex[pick],
                            H.good_health(model.sc.health, r, tkk.shift, pick), model.scale_inv)
    return pick
