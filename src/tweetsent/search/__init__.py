"""Hyperparameter search on Optuna: grid, random and TPE, overfitting-aware, parallel.

    space = load_space("configs/search/coarse.toml")      # params, fixed fields, settings
    report = run_search(space)                             # every trial is train(config)
    report.best_trial, report.files["best_config"]

Search only generates configs and calls `train(config)`; it imports nothing else of training.
"""

from tweetsent.search.report import SearchReport
from tweetsent.search.runner import report_only, run_search
from tweetsent.search.settings import SearchSettings
from tweetsent.search.space import Param, SearchSpace, load_space, space_from_dict
from tweetsent.search.trial import trial_seed

__all__ = [
    "Param",
    "SearchReport",
    "SearchSettings",
    "SearchSpace",
    "load_space",
    "report_only",
    "run_search",
    "space_from_dict",
    "trial_seed",
]
