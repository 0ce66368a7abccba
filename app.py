"""dealsim's web app: `solara run app.py` (or `python simulate.py app`). See docs/app.md."""

from webapp.pages import AssessPage, ExplorePage, routes  # noqa: F401  (Solara reads `routes`)

from webapp.assess import APP_WORKERS  # noqa: E402
from webapp.state import warm_up  # noqa: E402

warm_up(APP_WORKERS)
