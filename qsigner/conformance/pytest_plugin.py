"""The kit's pytest front end: ``pytest --qsigner-plugin PLUGIN`` adds one test per check.

Registered as the ``pytest11`` entry point ``qsigner``, so it is present in every
pytest run once qsigner is installed, and does nothing until the option is given.
It calls the same ``run_kit`` as ``qsigner check`` (once per PLUGIN, at collection
time) and turns each ``CheckResult`` into an item: a failed check fails with the
kit's reason, a skipped check skips with it. ``-k``, ``--junitxml`` and the rest
of pytest apply as usual; the timing table is printed in the terminal summary.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["pytest_addoption", "pytest_collection_modifyitems", "pytest_terminal_summary",
           "KitItem", "KitCheckFailed"]

_REPORTS = pytest.StashKey[list[Any]]()


class KitCheckFailed(AssertionError):
    """A check of the conformance kit failed; the message is the kit's reason."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--qsigner-plugin``, ``--qsigner-vectors`` and ``--qsigner-seed``."""
    group = parser.getgroup("qsigner", "qsigner conformance kit")
    group.addoption("--qsigner-plugin", action="append", default=[], metavar="PLUGIN",
                    help="run the conformance kit on PLUGIN (installed coin name or path); "
                         "one test per check; may be repeated")
    group.addoption("--qsigner-vectors", default=None, metavar="DIR",
                    help="vector folder (default: vectors/<name>/ above the plugin)")
    group.addoption("--qsigner-seed", type=int, default=0, metavar="N",
                    help="seed of the kit's generated inputs (default 0)")


class KitItem(pytest.Item):
    """One check of the kit, already run; ``runtest`` replays its outcome."""

    def __init__(self, *, result: Any, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result
        self.target = target

    def runtest(self) -> None:
        """Pass, skip or fail as the check did."""
        if self.result.status == "skip":
            pytest.skip(self.result.message)
        if self.result.status == "fail":
            raise KitCheckFailed(self.result.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        """Show the kit's reason instead of a traceback into the plugin."""
        if isinstance(excinfo.value, KitCheckFailed):
            return f"qsigner check {self.target}: {self.result.id} failed:\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Name the check in pytest's reports."""
        return self.path, None, f"qsigner check {self.target}: {self.result.id}"


class _KitCollector(pytest.Collector):
    """The parent node of one plugin's items (``qsigner-check[PLUGIN]``)."""

    def collect(self) -> list[pytest.Item]:  # pragma: no cover - items are built directly
        return []


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so they apply to our items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Run the kit on each ``--qsigner-plugin`` and append one item per check."""
    targets: list[str] = config.getoption("qsigner_plugin")
    if not targets:
        return
    from ..errors import QsignerError  # noqa: PLC0415 - only when the option is used
    from .runner import run_kit  # noqa: PLC0415
    reports = config.stash.setdefault(_REPORTS, [])
    for target in targets:
        try:
            report = run_kit(target, vectors_dir=config.getoption("qsigner_vectors"),
                             seed=config.getoption("qsigner_seed"))
        except QsignerError as exc:
            raise pytest.UsageError(f"--qsigner-plugin {target}: {exc}") from None
        reports.append(report)
        parent = _KitCollector.from_parent(session, name=f"qsigner-check[{target}]",
                                           nodeid=f"qsigner-check[{target}]")
        items.extend(KitItem.from_parent(parent, name=check.id, result=check, target=target,
                                         nodeid=f"qsigner-check[{target}]::{check.id}")
                     for check in report.checks)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    """Print each kit run's verdict and timing table."""
    from .report import timing_lines  # noqa: PLC0415
    for report in config.stash.get(_REPORTS, []):
        terminalreporter.section(f"qsigner check {report.target}")
        counts = report.counts()
        terminalreporter.write_line(f"{'PASSED' if report.passed else 'FAILED'}: "
                                    f"{counts['pass']} passed, {counts['fail']} failed, "
                                    f"{counts['skip']} skipped (vectors: {report.vectors})")
        for line in timing_lines(report):
            terminalreporter.write_line(line)
