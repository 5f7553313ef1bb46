"""Optuna search over prompts and hyper-parameters, resumable, on one machine or many."""

from tsreprog.tune.space import DEFAULT_SPACE, load_space
from tsreprog.tune.study import StudySettings, best_config_yaml, run, summary, write_reports

__all__ = ["DEFAULT_SPACE", "StudySettings", "best_config_yaml", "load_space", "run", "summary", "write_reports"]
