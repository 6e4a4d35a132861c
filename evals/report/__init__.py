"""Reports of an eval run: console summary, JSON record, JUnit XML, one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

from evals.report.html import write_html
from evals.report.json_record import read_record, write_record
from evals.report.junit import write_junit
from evals.results import RunRecord

__all__ = ["read_record", "write_html", "write_junit", "write_record", "write_reports"]


def write_reports(record: RunRecord, directory: Path) -> list[Path]:
    """Write ``run.json``, ``junit.xml`` and ``report.html`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_record(record, directory / "run.json"),
        write_junit(record, directory / "junit.xml"),
        write_html(record, directory / "report.html"),
    ]
