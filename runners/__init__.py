"""evalkit's Hydra entry points: the only code that imports Hydra (the library never does).

A package, imported as `evalkit_runners` from wherever the built-in runners live (the checkout's
`runners/`, or `evalkit/_builtin/runners` in a wheel; evalkit.app.runner_loader loads it by path):
`compose` composes a config and turns Hydra's errors into one-line UserErrors, `sweep` holds
the multirun leaderboard callback and what launchers need to ship jobs to other processes, and
each command has its module (run, judge, judge_distill, data_build, serve). Importing the
package itself imports no Hydra.
"""
