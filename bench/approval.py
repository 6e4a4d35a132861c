"""Approval latency: a reviewer's ``decide`` and the ``resume`` that runs the approved call.

A scripted model asks for one high-risk call (``issue_credit``), the run pauses for approval,
then — timed — ``Tiller.decide(approve)`` records the decision and ``Tiller.resume`` executes the
call exactly once and finishes the run. Measured with the in-memory checkpointer, with SQLite
(Tiller's own) and with PostgreSQL when ``TILLER_BENCH_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from agent.config import Settings
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from bench.checkpointers import postgres_url
from bench.postgres import scratch_database
from bench.report import Column
from bench.runtimes import BENCH_LIMITS
from bench.stats import median, percentile
from tools.contract import Risk, ToolContext, tool
from tools.policy import ApprovalPolicy
from tools.registry import ToolRegistry


class CreditArgs(BaseModel):
    account: str
    amount: int


class CreditResult(BaseModel):
    credited: int


@tool(risk=Risk.HIGH_RISK)
def issue_credit(ctx: ToolContext, args: CreditArgs) -> CreditResult:
    """Credit an account (high risk: a reviewer approves every call)."""
    return CreditResult(credited=args.amount)


def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if any(m.type == "ai" for m in messages):
        return "Credited."
    return {"tool_calls": [{"name": "issue_credit", "args": {"account": "A1", "amount": 5}}]}


@dataclass(frozen=True)
class ApprovalRow:
    saver: str
    runs: int
    decide_p50_ms: float
    decide_p95_ms: float
    resume_p50_ms: float
    resume_p95_ms: float
    total_p50_ms: float
    total_p95_ms: float


def one_approval(tiller: Tiller) -> tuple[float, float]:
    """(decide ms, resume ms) for one paused run."""
    paused = tiller.ask("credit account A1 with 5", thread_id="a_" + uuid.uuid4().hex[:12])
    assert paused.status is RunStatus.AWAITING_APPROVAL, paused.status
    started = time.perf_counter()
    tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita.reviewer")
    decided = time.perf_counter()
    done = tiller.resume(paused.thread_id)
    finished = time.perf_counter()
    assert done.status is RunStatus.COMPLETED and done.executed_calls, done.status
    return (decided - started) * 1000, (finished - decided) * 1000


def measure(name: str, tiller: Tiller, runs: int) -> ApprovalRow:
    one_approval(tiller)  # warm-up
    decide, resume = zip(*(one_approval(tiller) for _ in range(runs)), strict=True)
    total = [d + r for d, r in zip(decide, resume, strict=True)]
    return ApprovalRow(
        name,
        runs,
        median(decide),
        percentile(decide, 95),
        median(resume),
        percentile(resume, 95),
        median(total),
        percentile(total, 95),
    )


def open_tiller(home: Path, checkpointer: Any, database_url: str | None = None) -> Tiller:
    return Tiller(
        Settings(home=home, database_url=database_url, retrieval_mode="bm25", policy_file=None),
        model=ScriptedChatModel(respond),
        registry=ToolRegistry([issue_credit]),
        policy=ApprovalPolicy(),
        limits=BENCH_LIMITS,
        checkpointer=checkpointer,
    )


def run_approval(workdir: Path, runs: int = 50) -> list[ApprovalRow]:
    """decide → resume latency per checkpointer."""
    rows = []
    with open_tiller(workdir / "approval-memory", InMemorySaver()) as tiller:
        rows.append(measure("memory", tiller, runs))
    with open_tiller(workdir / "approval-sqlite", None) as tiller:
        rows.append(measure("sqlite", tiller, runs))
    server = postgres_url()
    if server:
        with ExitStack() as stack:
            url = stack.enter_context(scratch_database(server))
            tiller = stack.enter_context(open_tiller(workdir / "approval-pg", None, url))
            rows.append(measure("postgres", tiller, runs))
    return rows


APPROVAL_COLUMNS = [
    Column("checkpointer", lambda r: r.saver),
    Column("runs", lambda r: r.runs),
    Column("decide p50 / p95 ms", lambda r: f"{r.decide_p50_ms:.1f} / {r.decide_p95_ms:.1f}"),
    Column("resume p50 / p95 ms", lambda r: f"{r.resume_p50_ms:.1f} / {r.resume_p95_ms:.1f}"),
    Column("decide→resume p50 / p95 ms", lambda r: f"{r.total_p50_ms:.1f} / {r.total_p95_ms:.1f}"),
]
