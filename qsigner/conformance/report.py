"""The kit's report formats: text for the terminal, JSON (``--report``), JUnit XML (``--junit``).

The JUnit file follows the common schema that CI servers read (one ``testsuite``
per plugin, one ``testcase`` per check, ``failure``/``skipped`` children), as
written by pytest's ``--junitxml``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from itertools import groupby
from pathlib import Path

from .runner import FAIL, PASS, SKIP, CheckResult, KitReport

__all__ = ["format_text", "timing_lines", "to_json", "to_junit", "write_report"]

_LABEL = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}


def format_text(report: KitReport, *, verbose: bool = False) -> str:
    """Return the terminal report: one line per check (vector cases folded per file when
    they all pass, unless ``verbose``), the reason under each failure, then the timings."""
    lines = [f"qsigner check {report.target}: plugin {report.plugin!r} from {report.location}",
             f"vectors: {report.vectors or '(none found)'}; seed {report.seed}; "
             f"settings {vars(report.settings)}", ""]
    width = min(max((len(c.id) for c in report.checks if ":" not in c.name), default=10), 40)
    for line in _check_lines(report, verbose, width):
        lines.append(line)
    lines += ["", *timing_lines(report)]
    counts = report.counts()
    verdict = "PASSED" if report.passed else "FAILED"
    lines += ["", f"{verdict}: {counts[PASS]} passed, {counts[FAIL]} failed, "
              f"{counts[SKIP]} skipped"]
    return "\n".join(lines) + "\n"


def _check_lines(report: KitReport, verbose: bool, width: int) -> list[str]:
    lines: list[str] = []
    cases = [c for c in report.checks if c.group == "vectors" and ":" in c.name]
    for check in report.checks:
        if check in cases and not verbose:
            if check is cases[0]:
                lines += _folded_cases(cases, width)
            continue
        lines += _one(check, width)
    return lines


def _folded_cases(cases: list[CheckResult], width: int) -> list[str]:
    lines: list[str] = []
    for file, group in groupby(cases, key=lambda c: c.name.split(":", 1)[0]):
        items = list(group)
        failed = [c for c in items if c.status == FAIL]
        if not failed:
            lines.append(f"{'PASS':4}  {('vectors/' + file + ' cases').ljust(width)}  "
                         f"all {len(items)} cases pass")
        for check in failed:
            lines += _one(check, width)
    return lines


def _one(check: CheckResult, width: int) -> list[str]:
    label = _LABEL.get(check.status, check.status.upper())
    if check.status == PASS:
        return [f"{label:4}  {check.id.ljust(width)}  {check.message}"]
    return [f"{label:4}  {check.id}", *(f"      {part}" for part in _wrap(check.message))]


def _wrap(message: str, width: int = 100) -> list[str]:
    words, lines, line = message.split(" "), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def timing_lines(report: KitReport) -> list[str]:
    """Return the timing table as lines (informational)."""
    lines = ["timing (informational; successful calls only)",
             f"  {'operation':<22}{'calls':>7}{'median ms':>12}{'max ms':>10}"]
    for t in report.timings:
        lines.append(f"  {t.operation:<22}{t.calls:>7}{t.median_ms:>12.3f}{t.max_ms:>10.3f}")
    return lines


def to_json(report: KitReport) -> str:
    """Return the report as indented JSON (schema ``qsigner-kit-report/1``)."""
    return json.dumps(report.to_dict(), indent=2) + "\n"


def to_junit(report: KitReport) -> str:
    """Return the report as JUnit XML: one testcase per check, timings in ``system-out``."""
    counts = report.counts()
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", {
        "name": f"qsigner-check.{report.plugin}", "tests": str(len(report.checks)),
        "failures": str(counts[FAIL]), "errors": "0", "skipped": str(counts[SKIP]),
        "time": f"{sum(c.seconds for c in report.checks):.3f}"})
    props = ET.SubElement(suite, "properties")
    for name, value in (("target", report.target), ("location", report.location),
                        ("vectors", report.vectors), ("seed", str(report.seed))):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"qsigner-check.{report.plugin}.{check.group}", "name": check.name,
            "time": f"{check.seconds:.4f}"})
        if check.status == FAIL:
            ET.SubElement(case, "failure", {"message": check.message}).text = check.message
        elif check.status == SKIP:
            ET.SubElement(case, "skipped", {"message": check.message})
    ET.SubElement(suite, "system-out").text = "\n".join(timing_lines(report))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_report(report: KitReport, path: str | Path, kind: str) -> None:
    """Write the report as ``kind`` (``json`` or ``junit``) to ``path``.

    Raises:
        OSError: the file cannot be written.
    """
    text = to_json(report) if kind == "json" else to_junit(report)
    Path(path).write_text(text, encoding="utf-8")
