"""dealsim's web app: Solara pages with Mesa's model controller, for councils and researchers.

`python simulate.py app` or `solara run app.py` serves it. Modules: `state` (scenarios, levers and the
model the app steps), `charts` (live charts with Wigan's observed points), `forms` (the council form,
its help text from `scenarios/councils/TEMPLATE.yaml`, validation), `assess` (running an assessment with
progress), `pages` (the two pages and their routes).
"""
