"""``tiller db …`` and ``tiller index [eval]``: the database schema, the domain's seed data, the search index."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agent.interfaces.cli._common import _console, _fail, _settings, app, db_app, run_cli, service_cli

Size = Annotated[str | None, typer.Option("--size", help="a named size of the domain's seed (e.g. test, bench)")]
Values = Annotated[
    list[str] | None,
    typer.Option("--set", help="a seed value as key=value, repeatable (e.g. --set orders=100000)"),
]


def _values(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs as a mapping (values parsed as YAML scalars: numbers stay numbers)."""
    import yaml

    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--set {pair!r}: expected key=value")
        values[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return values


index_app = typer.Typer(
    help="The domain's knowledge-base search index: build it, or measure its retrieval.", invoke_without_command=True
)
app.add_typer(index_app, name="index")


@index_app.callback()
def index(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="rebuild even if unchanged")] = False,
) -> None:
    """Build (or check) the domain's knowledge-base search index."""
    if ctx.invoked_subcommand is not None:
        return
    from agent.runtime.toolset import build_index

    settings = _settings()
    run_cli(lambda: _console().print(build_index(settings, force=rebuild)))


@index_app.command("eval")
def index_eval(
    questions: Annotated[
        str | None, typer.Option("--questions", help="labelled questions YAML (default: the domain's own)")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="passages retrieved per question")] = 5,
    stages: Annotated[
        str, typer.Option("--stages", help="comma-separated stages (default: all this install runs)")
    ] = "",
    by_kind: Annotated[bool, typer.Option("--by-kind", help="scores per kind of question too")] = False,
    misses: Annotated[bool, typer.Option("--misses", help="list the questions that missed a document")] = False,
) -> None:
    """Retrieval quality per stage (recall, MRR, nDCG, latency) on the domain's labelled questions."""
    from agent.config import domain_of
    from tools.retrieval.evaluation import STAGES, format_report, run_eval

    kb = domain_of(_settings()).knowledge
    if kb is None:
        _fail("this domain has no knowledge base to evaluate")
    path = questions or kb.questions
    if path is None:
        _fail("this domain ships no labelled questions (KnowledgeBase.questions); pass --questions FILE")
    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    if unknown := [s for s in chosen if s not in STAGES]:
        _fail(f"unknown stage(s): {', '.join(unknown)}; choose from {', '.join(STAGES)}")

    def body() -> None:
        try:
            reports = run_eval(kb.documents, path, stages=chosen or None, k=k)
        except (ValueError, FileNotFoundError) as exc:
            _fail(str(exc))
        console = _console()
        console.print(f"{len(reports[0].results) if reports else 0} labelled questions, k={k}")
        for report in reports:
            console.print(format_report(report, by_kind=by_kind, misses=misses), markup=False)

    run_cli(body)


@db_app.command("init")
def db_init() -> None:
    """Create the tables (the domain's, approvals, ledger, threads…); safe to run twice."""
    from agent.persistence.setup import init_database

    run_cli(lambda: _console().print(init_database(_settings())))


@db_app.command("seed")
def db_seed(
    size: Size = None,
    values: Values = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing if the domain's data exists")] = False,
) -> None:
    """Fill the database with the domain's deterministic data (same values, same data)."""
    from agent.config import domain_of
    from agent.persistence.setup import fixtures_of, seed_database

    settings = _settings()

    def body() -> None:
        fixtures = fixtures_of(domain_of(settings), _values(values), size)
        _console().print(seed_database(settings, fixtures, if_empty=if_empty))

    run_cli(body)


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    size: Size = None,
    values: Values = None,
) -> None:
    """Drop everything (the domain's data, approvals, threads) and seed afresh."""
    from agent.config import domain_of
    from agent.persistence.database import redacted_url
    from agent.persistence.setup import fixtures_of, reset_database

    settings = _settings()

    def body() -> None:
        fixtures = fixtures_of(domain_of(settings), _values(values), size)
        if not yes:
            typer.confirm(f"Delete all data in {redacted_url(settings.db_url)} and reseed?", abort=True)
        _console().print(reset_database(settings, fixtures))

    run_cli(body)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema (the runtime's and the domain's tables) to the latest migration; safe to run again."""
    from agent.config import domain_of
    from agent.persistence.database import connect_engine
    from agent.persistence.migrations import upgrade

    settings = _settings()

    def body() -> None:
        if not settings.uses_postgres:
            settings.home.mkdir(parents=True, exist_ok=True)
        engine = connect_engine(settings.db_url)
        try:
            _console().print(upgrade(engine, domain_of(settings)))
        finally:
            engine.dispose()

    service_cli(body)


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="what changed, for the file's name and docstring")],
) -> None:
    """Write a migration of the domain's tables, autogenerated from its models (review it, then `db upgrade`)."""
    from agent.config import domain_of
    from agent.persistence.migrations import domain_revision

    settings = _settings()
    run_cli(lambda: _console().print(f"wrote {domain_revision(domain_of(settings), message)}"))
