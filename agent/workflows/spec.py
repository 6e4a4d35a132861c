"""A workflow file: the model, limits, approval mode, acting identity, and tasks.

    name: ticket-triage
    model: offline                 # default: TILLER_MODEL
    approval: queue                # queue: high-risk calls wait for reviewers; deny: refused
    approval_wait_s: 3600          # queue: stop waiting after this long (rerun to continue)
    limits: {max_steps: 6}
    user: workflow.triage          # the requester reviewers see
    subject: C000003               # optional: act for this principal of the tenant only (one customer)
    prompt: "close ticket {ticket_id}, resolved: {reason}"   # templated from --inputs records
    tasks:                         # and/or literal tasks
      - {id: status-of-T1000002, prompt: "what is the status of ticket T1000002?"}

Errors name the file, and the line for YAML syntax and JSONL records.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.config import Limits
from agent.errors import ConfigError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TaskSpec(BaseModel):
    """One task of a workflow file: its prompt, and an id to resume it by."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(None, description="stable id (for resuming); default: task-<n>")
    prompt: str = Field(min_length=1)


class Task(BaseModel):
    """A task ready to run: a unique id and the user's message."""

    model_config = ConfigDict(frozen=True)

    id: str
    prompt: str


class Workflow(BaseModel):
    """A workflow: its tasks or prompt template, the model, how approvals are handled, limits, acting user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_ID.pattern)
    description: str = ""
    model: str | None = Field(None, description="model spec; default: TILLER_MODEL")
    approval: Literal["queue", "deny"] = "queue"
    approval_wait_s: float | None = Field(None, gt=0, description="queue: give up waiting after this many seconds")
    limits: dict[str, Any] = Field(default_factory=dict, description="overrides of the run limits (max_steps, …)")
    tenant: str | None = Field(None, description="CLI runs only; the API uses the key's tenant")
    user: str | None = Field(None, description="the acting user; default: workflow:<name>")
    subject: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="the principal inside the tenant every task acts for (e.g. a customer id); default: tenant-wide",
    )
    concurrency: int = Field(4, ge=1, le=64)
    prompt: str | None = Field(None, description="template for each --inputs record: {field} placeholders")
    tasks: tuple[TaskSpec, ...] = ()

    @field_validator("limits")
    @classmethod
    def _known_limits(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(Limits.model_fields))
        if unknown:
            raise ValueError(f"unknown limits {unknown}; known: {sorted(Limits.model_fields)}")
        return value

    def run_limits(self) -> Limits:
        """The workflow's limits (``ConfigError`` naming the bad one)."""
        try:
            return Limits(**self.limits)
        except ValidationError as exc:
            raise ConfigError(f"workflow {self.name}: invalid limits: {_problems(exc)}") from None

    def acting_user(self) -> str:
        """Who the tasks run as: ``user``, else ``workflow:<name>``."""
        return self.user or f"workflow:{self.name}"


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())


def parse_workflow(data: Any, source: str = "workflow") -> Workflow:
    """A workflow from parsed data; ``ConfigError`` names ``source`` and each problem."""
    try:
        return Workflow.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_problems(exc)}") from None


def load_workflow(path: Path) -> Workflow:
    """Read and validate a workflow file."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read workflow {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_workflow(data, str(path))


def read_inputs(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL file (blank lines skipped); a bad line is named."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read inputs {path}: {exc.strerror}") from None
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ConfigError(f"{path} line {number}: expected a JSON object, got {type(record).__name__}")
        records.append({**record, "_line": number})
    return records


def expand_tasks(workflow: Workflow, records: list[dict[str, Any]] | None = None, source: str = "inputs") -> list[Task]:
    """The workflow's literal tasks, then one task per input record rendered with ``prompt``."""
    tasks = [Task(id=t.id or f"task-{n}", prompt=t.prompt) for n, t in enumerate(workflow.tasks, start=1)]
    if records and not workflow.prompt:
        raise ConfigError(f"workflow {workflow.name} has no `prompt` template to render the {source} records with")
    if workflow.prompt and not records and not workflow.tasks:
        raise ConfigError(f"workflow {workflow.name} has a `prompt` template: give the records with --inputs FILE")
    for n, record in enumerate(records or [], start=1):
        line = record.get("_line", n)
        tasks.append(
            Task(
                id=str(record.get("id") or f"record-{line}"),
                prompt=_render(workflow.prompt or "", record, source, line),
            )
        )
    _check_ids(workflow, tasks)
    return tasks


def _render(template: str, record: dict[str, Any], source: str, line: int) -> str:
    try:
        return string.Formatter().vformat(template, (), record)
    except KeyError as exc:
        raise ConfigError(f"{source} line {line}: no field {exc.args[0]!r} for the prompt template") from None
    except (IndexError, ValueError) as exc:
        raise ConfigError(f"{source} line {line}: cannot render the prompt template ({exc})") from None


def _check_ids(workflow: Workflow, tasks: list[Task]) -> None:
    seen: set[str] = set()
    for task in tasks:
        if not _ID.match(task.id):
            raise ConfigError(f"workflow {workflow.name}: task id {task.id!r} must match {_ID.pattern}")
        if task.id in seen:
            raise ConfigError(f"workflow {workflow.name}: task id {task.id!r} is used twice")
        seen.add(task.id)
    if not tasks:
        raise ConfigError(f"workflow {workflow.name} has no tasks")
