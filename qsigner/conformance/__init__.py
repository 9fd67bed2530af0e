"""The conformance kit: the project's vector format, the one engine that runs it, and ``run_kit``."""

from .runner import CheckResult, KitReport, KitSettings, run_kit
from .vectors import Case, CaseFailure, VectorFileError, load_cases, load_file, run_case

__all__ = ["Case", "CaseFailure", "VectorFileError", "load_cases", "load_file", "run_case",
           "run_kit", "KitReport", "KitSettings", "CheckResult"]
