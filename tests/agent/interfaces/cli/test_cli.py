"""The ``tiller`` CLI end to end on the offline model: the done-means of the runtime issue."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.config import Settings
from agent.interfaces.cli.app import app

Refunds = Callable[[str], tuple[int, int]]


@pytest.fixture
def tiller(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``tiller(*args)`` runs the CLI against the test's seeded home; returns the result."""
    monkeypatch.setenv("TILLER_HOME", str(settings.home))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Any:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


def ask_json(tiller: Callable[..., Any], text: str) -> dict[str, Any]:
    out = tiller("ask", text, "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_order_status_is_answered_from_the_order(tiller: Callable[..., Any]) -> None:
    result = ask_json(tiller, "where is my order W1000002?")
    assert result["status"] == "completed"
    assert "UPS" in result["answer"] and "1Z999AA10123456784" in result["answer"]
    assert [c["tool"] for c in result["trajectory"]] == ["get_order"]


def test_policy_question_is_answered_with_a_citation(tiller: Callable[..., Any]) -> None:
    result = ask_json(tiller, "what is the return policy for electronics?")
    assert result["status"] == "completed"
    answer = result["answer"]
    assert "15 days" in answer  # the electronics window, from the documents
    assert "[electronics-returns#" in answer or "[returns-policy#" in answer
    assert result["trajectory"][0]["tool"] == "search_knowledge_base"


def test_refund_waits_then_runs_once_after_approval(tiller: Callable[..., Any], refunds: Refunds) -> None:
    paused = ask_json(tiller, "refund order W1000001, it arrived damaged")
    assert paused["status"] == "awaiting_approval"
    [approval] = paused["pending_approvals"]
    assert approval["tool"] == "issue_refund" and approval["args"]["order_id"] == "W1000001"
    assert approval["args"]["reason"] == "damaged" and approval["args"]["amount"] == "129.99"
    assert refunds("W1000001") == (0, 0)

    listing = tiller("approvals", "list")
    assert approval["id"] in listing.output and "issue_refund" in listing.output
    assert "damaged" in tiller("approvals", "show", approval["id"]).output

    own = tiller("approvals", "approve", approval["id"], "--as", "agent.demo")
    assert own.exit_code == 2 and "separation of duties" in own.output

    approved = tiller("approvals", "approve", approval["id"], "--as", "rita")
    assert approved.exit_code == 0, approved.output
    assert "completed" in approved.output
    assert refunds("W1000001") == (1, 12999)

    twice = tiller("approvals", "approve", approval["id"], "--as", "sam")
    assert twice.exit_code == 2 and "already executed" in twice.output
    resumed = tiller("resume", paused["thread_id"], "--json")
    assert json.loads(resumed.output)["status"] == "completed"
    assert refunds("W1000001") == (1, 12999)


def test_reviewer_edit_and_reject_through_the_cli(tiller: Callable[..., Any], refunds: Refunds) -> None:
    first = ask_json(tiller, "refund order W1000001, it arrived damaged")["pending_approvals"][0]["id"]
    bad = tiller("approvals", "edit", first, "--set", "amount=-1", "--as", "rita")
    assert bad.exit_code == 2 and "amount" in bad.output
    edited = tiller("approvals", "edit", first, "--set", "amount=100.50", "--as", "rita")
    assert edited.exit_code == 0, edited.output
    assert refunds("W1000001") == (1, 10050)

    second = ask_json(tiller, "please refund W1000004, wrong item")["pending_approvals"][0]["id"]
    told = "Please send us a photo of the item."
    rejected = tiller(
        "approvals", "reject", second, "--reason", "needs photos", "--tell-customer", told, "--as", "rita"
    )
    assert rejected.exit_code == 0 and told in rejected.output
    assert refunds("W1000004") == (1, 5000)  # only the refund the seed already had


def test_chat_streams_steps_and_answers(tiller: Callable[..., Any]) -> None:
    out = tiller("chat", input="where is my order W1000002?\n/quit\n")
    assert out.exit_code == 0, out.output
    assert "get_order" in out.output and "1Z999AA10123456784" in out.output
    assert "guard (input): allow" in out.output and "guard (output): allow" in out.output
    assert "resume with: tiller chat --thread t_" in out.output


def test_a_missing_database_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLER_HOME", str(tmp_path / "empty"))
    out = CliRunner().invoke(app, ["ask", "hello"])
    text = " ".join(out.output.split())
    assert out.exit_code == 2 and "`tiller db upgrade && tiller db seed`" in text
    assert "--domain or TILLER_DOMAIN" in text and "TILLER_HOME" in text
    assert not (tmp_path / "empty" / "tiller.db").exists()


@pytest.mark.parametrize(
    ("model", "message"),
    [("gpt-4", "unknown model spec"), ("openai:gpt-4o-mini", "OPENAI_API_KEY"), ("replay:/nope.yaml", "nope.yaml")],
)
def test_bad_model_configuration_is_explained(tiller: Callable[..., Any], model: str, message: str) -> None:
    out = tiller("ask", "hello", "--model", model)
    assert out.exit_code == 2 and message in out.output


def test_seeding_twice_is_refused_unless_asked_to_skip(tiller: Callable[..., Any]) -> None:
    again = tiller("db", "seed")
    assert again.exit_code == 2 and "tiller db reset" in again.output
    assert tiller("db", "seed", "--if-empty").exit_code == 0


def test_chat_resumes_a_thread_and_continues_after_a_decision(tiller: Callable[..., Any], refunds: Refunds) -> None:
    paused = ask_json(tiller, "refund order W1000001, it arrived damaged")
    approval_id = paused["pending_approvals"][0]["id"]
    decided = tiller("approvals", "approve", approval_id, "--as", "rita", "--no-resume")
    assert decided.exit_code == 0 and f"tiller resume {paused['thread_id']}" in decided.output
    assert refunds("W1000001") == (0, 0)

    # Reopening the conversation shows its history and, the decision being made, continues it.
    out = tiller("chat", "--thread", paused["thread_id"], input="/quit\n")
    assert out.exit_code == 0, out.output
    assert "refund order W1000001" in out.output and "completed" in out.output
    assert refunds("W1000001") == (1, 12999)


def test_reset_starts_over(tiller: Callable[..., Any], refunds: Refunds) -> None:
    paused = ask_json(tiller, "refund order W1000001, it arrived damaged")
    tiller("approvals", "approve", paused["pending_approvals"][0]["id"], "--as", "rita")
    assert refunds("W1000001") == (1, 12999)
    out = tiller("db", "reset", "--yes", "--set", "customers=20", "--set", "orders=40")
    assert out.exit_code == 0, out.output
    assert refunds("W1000001") == (0, 0)
    assert "apr_" not in tiller("approvals", "list", "--status", "all").output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TILLER_DATABASE_URL", "mysql://nobody@nowhere/db", "unsupported database URL"),
        ("TILLER_DATABASE_URL", "postgresql://postgres:secret@127.0.0.1:1/none", "Check TILLER_DATABASE_URL"),
        ("TILLER_MAX_STEPS", "many", "TILLER_MAX_STEPS"),
        ("TILLER_RETRIEVAL_MODE", "magic", "TILLER_RETRIEVAL_MODE"),
    ],
)
def test_bad_configuration_is_a_message_not_a_traceback(
    tiller: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    out = CliRunner().invoke(app, ["ask", "hello"])
    assert out.exit_code == 2 and message in out.output, out.output
    assert "secret" not in out.output and "Traceback" not in out.output


def test_index_eval_measures_the_domains_own_labelled_questions(tiller: Callable[..., Any], tmp_path: Path) -> None:
    out = tiller("index", "eval", "--stages", "bm25,bm25+rewrite+rerank", "--by-kind")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].endswith("labelled questions, k=5") and int(lines[0].split()[0]) >= 150
    bm25, full = (
        next(line for line in lines if line.startswith(name + " ")) for name in ("bm25", "bm25+rewrite+rerank")
    )
    score = lambda line: float(line.split("MRR@5=")[1].split()[0])  # noqa: E731
    assert score(full) > score(bm25)  # rewriting and reranking help on the shop's follow-ups
    assert any(line.strip().startswith("follow-up") for line in lines)

    bad = tmp_path / "questions.yaml"
    bad.write_text("- question: where?\n  expected: [no-such-document]\n")
    out = tiller("index", "eval", "--questions", str(bad))
    assert out.exit_code == 2 and "expected a mapping with a 'questions' list" in out.output
    bad.write_text("questions:\n- question: where?\n  expected: [no-such-document]\n")
    out = tiller("index", "eval", "--questions", str(bad))
    assert out.exit_code == 2 and "no-such-document" in out.output
    assert tiller("index", "eval", "--stages", "magic").exit_code == 2
