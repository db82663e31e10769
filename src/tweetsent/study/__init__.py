"""A study as one command: an experiment matrix (arms x seeds) run through the search's
machinery, then a report regenerated from the run directories alone.

    spec = load_study("configs/study/seed-study.toml")   # data, seeds, baseline, arms
    report = run_study(spec)                              # train what is missing, score, report
    report = report_only(spec)                            # the report again, no training
    report.results["arms"]["gru-64"]["comparison"]["avgrec"]   # delta, CI, verdict

Every (arm, seed) is an ordinary run directory, `<out>/<name>/runs/<arm>/seed-<seed>`.
"""

from tweetsent.study.report import StudyReport, write_report
from tweetsent.study.runner import report_only, run_study
from tweetsent.study.spec import Arm, StudySettings, StudySpec, load_study, study_from_dict
from tweetsent.study.stats import Paired, mean_sd, paired_bootstrap

__all__ = [
    "Arm",
    "Paired",
    "StudyReport",
    "StudySettings",
    "StudySpec",
    "load_study",
    "mean_sd",
    "paired_bootstrap",
    "report_only",
    "run_study",
    "study_from_dict",
    "write_report",
]
