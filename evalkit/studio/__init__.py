"""evalkit studio: collect people's ratings of a finished run's outputs (blind, pointwise on a
rubric's scale and pairwise A/B/tie) and feed them back into meta-eval, agreement and leaderboards.

`db` is the SQLite ratings store, `items` builds review items from a run, `app` the FastAPI
server, `analysis` agreement, export and Bradley-Terry ratings from the stored judgments.
"""
