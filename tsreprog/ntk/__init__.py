"""Empirical NTK of reprogrammed models, its spectrum, and backbone selection before training."""

from tsreprog.ntk.kernel import NTKResult, empirical_ntk
from tsreprog.ntk.run import run_selection
from tsreprog.ntk.select import Candidate
from tsreprog.ntk.spectrum import (eigenvalues, kernel_regression_mse, kernel_target_alignment, lanczos_extremes,
                                   spectrum_report)

__all__ = ["Candidate", "NTKResult", "eigenvalues", "empirical_ntk", "kernel_regression_mse",
           "kernel_target_alignment", "lanczos_extremes", "run_selection", "spectrum_report"]
