"""The conformance kit: the project's vector format and the one engine that runs it."""

from .vectors import Case, CaseFailure, VectorFileError, load_cases, load_file, run_case

__all__ = ["Case", "CaseFailure", "VectorFileError", "load_cases", "load_file", "run_case"]
