"""``tiller eval …``: run, validate, selfcheck, record and compare scenarios.

Registered as a plugin of the ``tiller`` CLI through the ``tiller.cli`` entry-point group, so
``agent`` never imports ``evals``. Exit codes: 0 all good; 1 a scenario failed (or a check
found a problem); 2 unusable input (invalid scenario files, bad options, unreadable report).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from evals.loader import Discovery
    from evals.results import RunRecord
    from evals.runner import RunOptions
    from evals.scenario import Scenario

# The harness (runtime, models, scipy…) is imported inside the commands: this module is loaded
# by every `tiller` invocation to register `tiller eval`, and `tiller --help` must stay quick.

app = typer.Typer(help="Trajectory evals: run scenarios through the real graph and explain every failure.")

Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="scenario files or folders (default: the domain's own scenarios)", show_default=False),
]
ModelOpt = Annotated[
    str, typer.Option("--model", "-m", help="offline | replay (each scenario's cassette) | a model spec")
]
TagsOpt = Annotated[list[str] | None, typer.Option("--tags", "-t", help="only scenarios with one of these tags")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", "-c", min=1, help="trials run in parallel")]
JudgeOpt = Annotated[
    str | None,
    typer.Option(
        "--judge",
        envvar="TILLER_EVAL_JUDGE",
        help="model spec of the LLM judge that grades answer rubrics, e.g. openai:gpt-4o-mini (none: rubrics skipped)",
    ),
]
SimulatorOpt = Annotated[
    str | None,
    typer.Option(
        "--simulator",
        envvar="TILLER_EVAL_SIMULATOR",
        help="model spec that plays the user of user_simulator scenarios, e.g. openai:gpt-4o-mini "
        "(none: those scenarios are skipped)",
    ),
]


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # CI logs and pipes: wide enough for the summary table
        console = Console(highlight=False, soft_wrap=True, width=max(console.width, 140))
    return console


def _tags(tags: list[str] | None) -> tuple[str, ...]:
    return tuple(t.strip() for raw in tags or [] for t in raw.split(",") if t.strip())


def _paths(paths: list[Path] | None) -> list[Path]:
    """The paths given, else the scenarios folder of the run's domain (``--domain`` / TILLER_DOMAIN)."""
    if paths:
        return paths
    from evals.domains import default_domain
    from tools.domain import load_domain
    from tools.errors import ToolDefinitionError

    try:
        domain = load_domain(default_domain())
    except ToolDefinitionError as exc:
        _console().print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if domain.scenarios is None or not domain.scenarios.is_dir():
        _console().print(f"[red]error:[/] domain {domain.name} ships no scenarios folder; name files or folders")
        raise typer.Exit(2)
    return [domain.scenarios]


def _load(paths: list[Path] | None, tags: tuple[str, ...], console: Console) -> list[Scenario]:
    """Load the scenarios or exit 2 listing every unusable file."""
    from evals.loader import discover

    paths = _paths(paths)
    found = discover(paths, tags=tags)
    _print_errors(found, console)
    if found.errors:
        raise typer.Exit(2)
    if not found.scenarios:
        console.print(f"no scenarios found in {', '.join(map(str, paths))}" + (f" with tags {tags}" if tags else ""))
        raise typer.Exit(2)
    return found.scenarios


def _print_errors(found: Discovery, console: Console) -> None:
    for error in found.errors:
        console.print(f"[red]{escape(str(error))}[/]")


TrialsOpt = Annotated[int, typer.Option("-k", "--trials", min=1, help="trials per scenario (pass^k)")]
ReportOpt = Annotated[Path | None, typer.Option("--report", "-r", help="write run.json, junit.xml, report.html here")]
AllOpt = Annotated[bool, typer.Option("--all", help="also run offline: false scenarios offline")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="explain every failing trial")]
ProcessesOpt = Annotated[
    int | None,
    typer.Option(
        "--processes",
        min=0,
        help="run trials in N worker processes; default: one per core up to -c for offline/replay/llamacpp "
        "runs of 100+ trials, else threads (0: always threads)",
    ),
]
TracesOpt = Annotated[
    bool,
    typer.Option(
        "--traces/--no-traces",
        help="copy each trial's traces into the Tiller home's database (tiller traces list, /traces)",
    ),
]


@app.command()
def run(
    paths: Paths = None,
    model: ModelOpt = "offline",
    k: TrialsOpt = 1,
    concurrency: ConcurrencyOpt = 4,
    tags: TagsOpt = None,
    report: ReportOpt = None,
    include_unsupported: AllOpt = False,
    verbose: VerboseOpt = False,
    judge: JudgeOpt = None,
    simulator: SimulatorOpt = None,
    processes: ProcessesOpt = None,
    keep_traces: TracesOpt = True,
) -> None:
    """Run scenarios (k trials each) and print the summary; exit 1 if any scenario fails."""
    from evals.errors import HarnessModelError
    from evals.report import write_reports
    from evals.report.console import print_report
    from evals.runner import RunOptions

    console = _console()
    picked = _tags(tags)
    paths = _paths(paths)
    scenarios = _load(paths, picked, console)
    options = RunOptions(
        model=model,
        k=k,
        concurrency=concurrency,
        include_unsupported=include_unsupported,
        paths=tuple(map(str, paths)),
        tags=picked,
        judge=judge or None,
        simulator=simulator or None,
        traces_db=_traces_db(console) if keep_traces else None,
        processes=processes,
    )
    try:
        record = _run_with_progress(scenarios, options, console)
    except HarnessModelError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    print_report(record, console, verbose=verbose)
    if options.traces_db:
        console.print("[dim]traces: tiller traces list (labelled scenario/trial), or /traces in `tiller serve`[/]")
    if report is not None:
        for path in write_reports(record, report):
            console.print(f"wrote {path}")
    raise typer.Exit(1 if record.failed else 0)


def _traces_db(console: Console) -> str | None:
    """The current Tiller home's database, if it exists (an eval never creates one)."""
    from agent.config import load_settings
    from agent.errors import ConfigError
    from agent.persistence.database import redacted_url

    try:
        url = load_settings().db_url
    except ConfigError as exc:
        console.print(f"[yellow]traces not kept:[/] {escape(str(exc))}")
        return None
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        console.print(f"[dim]traces not kept: no Tiller database at {escape(redacted_url(url))} (tiller db init)[/]")
        return None
    return url


def _run_with_progress(scenarios: list[Scenario], options: RunOptions, console: Console) -> RunRecord:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from evals.runner import run_scenarios

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"running ({options.model})", total=len(scenarios) * options.k)
        return run_scenarios(scenarios, options, on_trial=lambda _s, _t: progress.advance(task))


@app.command()
def validate(paths: Paths = None) -> None:
    """Check scenario files against the published schema; errors name file, line and field."""
    from evals.loader import discover, scenario_files

    console = _console()
    files, skipped = scenario_files(_paths(paths))
    found = discover(files)
    _print_errors(found, console)
    for scenario in found.scenarios:
        console.print(f"[green]ok[/] {escape(str(scenario.source))} ({scenario.id})")
    for path, why in skipped:
        console.print(f"[dim]skipped {escape(str(path))}: {why}[/]")
    console.print(f"{len(found.scenarios)} valid, {len(found.errors)} invalid")
    raise typer.Exit(1 if found.errors else 0)


@app.command("selfcheck")
def selfcheck_command(paths: Paths = None, tags: TagsOpt = None, concurrency: ConcurrencyOpt = 4) -> None:
    """Replaying a scenario's expected calls must pass; doing nothing, or dropping the last write, must fail."""
    from evals.runner import RunOptions
    from evals.selfcheck import selfcheck

    console = _console()
    scenarios = _load(paths, _tags(tags), console)
    results = selfcheck(scenarios, RunOptions(concurrency=concurrency))
    for check in results:
        mark = "[green]ok[/]" if check.ok else "[red]too loose[/]" if check.too_loose else "[red]FAIL[/]"
        console.print(f"{mark} {escape(check.scenario.id)}")
        for probe in check.probes:
            if probe.applicable and not probe.ok:
                console.print(f"    ✗ {probe.name}")
                for line in probe.details:
                    console.print(f"        {escape(line)}")
    bad = [c for c in results if not c.ok]
    console.print(f"{len(results) - len(bad)} of {len(results)} scenarios pass their self-checks")
    raise typer.Exit(1 if bad else 0)


@app.command()
def record(
    paths: Paths = None,
    model: ModelOpt = "offline",
    tags: TagsOpt = None,
    concurrency: ConcurrencyOpt = 4,
    keep_failing: Annotated[bool, typer.Option(help="also write cassettes of failing recordings")] = False,
) -> None:
    """Run each scenario once on a model and save its turns as the scenario's cassette."""
    from evals.record import record_cassettes
    from evals.runner import RunOptions

    console = _console()
    scenarios = _load(paths, _tags(tags), console)
    results, _ = record_cassettes(
        scenarios, RunOptions(model=model, concurrency=concurrency), keep_failing=keep_failing
    )
    for item in results:
        if item.skipped:
            console.print(f"[yellow]skipped[/] {escape(item.scenario.id)}: {escape(item.skipped)}")
            continue
        where = f"→ {item.written}" if item.written else "(not written)"
        mark = "[green]passed[/]" if item.passed else "[red]failed[/]"
        console.print(f"{mark} {escape(item.scenario.id)} {escape(where)}")
        for line in [] if item.passed else item.explanations[:5]:
            console.print(f"    {escape(line)}")
    raise typer.Exit(0 if all(r.passed or r.skipped for r in results) else 1)


@app.command()
def compare(
    base: Annotated[Path, typer.Argument(help="the earlier run: its run.json, or the folder --report wrote")],
    new: Annotated[Path, typer.Argument(help="the later run: its run.json, or the folder --report wrote")],
    fail_on_regression: Annotated[bool, typer.Option(help="exit 1 when a scenario went from pass to fail")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON (warnings included)")] = False,
) -> None:
    """Whether the runs are comparable (warnings first), the scenarios that flipped, and the
    pass-rate, F1, step, token, cost and latency deltas."""
    from evals.compare import NOISE_RULE, compare_runs
    from evals.errors import ReportError
    from evals.report import read_record

    console = _console()
    try:
        result = compare_runs(read_record(base), read_record(new))
    except ReportError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"base": str(base), "new": str(new), **result.as_json()}, indent=2, ensure_ascii=False))
        raise typer.Exit(1 if fail_on_regression and result.regressions else 0)
    if result.warnings:
        console.print("[yellow bold]⚠ the runs differ in more than the agent; a change below may come from these:[/]")
        for warning in result.warnings:
            console.print(f"[yellow]  • {escape(warning)}[/]")
    sections = [
        ("regressions (pass → fail)", result.regressions, "red"),
        ("fixed (fail → pass)", result.fixes, "green"),
        ("unstable (within noise)", result.unstable, "yellow"),
        ("new scenarios", result.added, "default"),
        ("removed scenarios", result.removed, "default"),
    ]
    for title, items, colour in sections:
        console.print(f"[{colour}]{title}: {len(items)}[/]")
        for item in items:
            console.print(f"  {escape(item)}")
    for delta in result.deltas:
        console.print(f"  {escape(delta.render())}")
    console.print(f"[dim]how flips are decided: {NOISE_RULE}[/]")
    raise typer.Exit(1 if fail_on_regression and result.regressions else 0)


@app.command()
def schema(
    check: Annotated[bool, typer.Option(help="only check that the committed schemas are up to date")] = False,
) -> None:
    """Write (or check) evals/scenario.schema.json and evals/run.schema.json, generated from the models."""
    from evals import results
    from evals.loader import SCHEMA_PATH, json_schema

    console = _console()
    stale = False
    for path, generated in ((SCHEMA_PATH, json_schema()), (results.SCHEMA_PATH, results.json_schema())):
        text = json.dumps(generated, indent=2) + "\n"
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if not check:
            path.write_text(text, encoding="utf-8")
            console.print(f"wrote {path}")
        elif current != text:
            console.print(f"{path} is out of date; run `tiller eval schema`")
            stale = True
        else:
            console.print(f"{path} is up to date")
    raise typer.Exit(1 if stale else 0)


@app.command()
def capture(
    thread_id: Annotated[str, typer.Argument(help="the thread to turn into a scenario")],
    output: Annotated[Path, typer.Option("--output", "-o", help="scenario file to write")],
    scenario_id: Annotated[str | None, typer.Option("--id", help="scenario id (default: from the first turn)")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="tenant of the thread")] = None,
) -> None:
    """Write a scenario that replays a recorded thread and expects what it did (then edit it)."""
    from agent.config import load_settings
    from agent.errors import TillerError
    from agent.runtime import Tiller
    from evals.capture import capture_thread, write_scenario
    from evals.errors import ScenarioError
    from evals.loader import load_scenario

    console = _console()
    try:
        settings = load_settings(**({"tenant": tenant} if tenant else {}))
        with Tiller(settings) as tiller:
            scenario = capture_thread(tiller, thread_id, tenant=settings.tenant, scenario_id=scenario_id)
    except TillerError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    write_scenario(scenario, output)
    try:
        load_scenario(output)  # what we write must load: fail here, not in the next eval run
    except ScenarioError as exc:
        console.print(f"[red]error:[/] the captured scenario does not validate (kept for inspection): {exc}")
        raise typer.Exit(2) from None
    calls = len(scenario["expect"]["trajectory"]["calls"])
    console.print(f"wrote {output}: {len(scenario['turns'])} turn(s), {calls} expected call(s) — review it before use")
