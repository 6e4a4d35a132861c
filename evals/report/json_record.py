"""The JSON report: the full ``RunRecord`` (``{"version": 4, ...}``), written and read back.

Version 1 to 3 reports still read: every field added since has a default, so ``compare`` can
diff a new run against an old baseline. A report is named by its file or by the folder
``tiller eval run --report DIR`` wrote it into.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from evals.errors import ReportError
from evals.results import READABLE_VERSIONS, REPORT_VERSION, RunRecord


def write_record(record: RunRecord, path: Path) -> Path:
    """Write the run record as JSON (``run.schema.json``)."""
    path.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def read_record(path: Path) -> RunRecord:
    """Read a JSON report (``run.json``, or a report folder holding one); raise
    :class:`ReportError` naming the file when it is not one."""
    if path.is_dir():
        if not (path / "run.json").is_file():
            raise ReportError(
                f"{path}: a folder without run.json; name a run.json or the folder `tiller eval run --report DIR` wrote"
            )
        path = path / "run.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such report") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
        found = data.get("version") if isinstance(data, dict) else None
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise ReportError(f"{path}: report version {found!r} is not supported (readable: {readable})")
    try:
        return RunRecord.model_validate({**data, "version": REPORT_VERSION})
    except ValidationError as exc:
        raise ReportError(f"{path}: malformed report: {exc.errors()[0]['msg']}") from None
