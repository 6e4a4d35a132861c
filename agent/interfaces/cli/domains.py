"""``tiller domains list`` and ``tiller domains new NAME``: the businesses Tiller can run, and a
new one scaffolded as an installable package (docs/DOMAINS.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Annotated

import typer

from agent.interfaces.cli._common import _console, _fail, app, run_cli

domains_app = typer.Typer(help="The businesses (domains) Tiller can run; scaffold a new one.", no_args_is_help=True)
app.add_typer(domains_app, name="domains")

SCAFFOLD = Path(__file__).with_name("scaffold")
# template file → where it goes in the new package ({pkg}: the Python package)
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "domain.py.tmpl": "{pkg}/domain.py",
    "models.py.tmpl": "{pkg}/models.py",
    "tools.py.tmpl": "{pkg}/tools.py",
    "seed.py.tmpl": "{pkg}/seed.py",
    "prompt.md.tmpl": "{pkg}/prompt.md",
    "items-policy.md.tmpl": "{pkg}/kb/items-policy.md",
    "env.py.tmpl": "{pkg}/migrations/env.py",
    "baseline.py.tmpl": "{pkg}/migrations/versions/{pkg}_0001_baseline.py",
    "item-status.yaml.tmpl": "scenarios/item-status.yaml",
    "retire-approved.yaml.tmpl": "scenarios/retire-approved.yaml",
}
NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}$")


@domains_app.command("list")
def list_domains() -> None:
    """Installed domains (entry-point group tiller.domains), with the default marked."""
    from rich.table import Table

    from agent.config import Settings
    from tools.domain import installed_domains, load_domain

    def body() -> None:
        current = Settings().domain
        table = Table("domain", "title", "tools", "provided by", box=None)
        for name, target in sorted(installed_domains().items()):
            try:
                domain = load_domain(name)
                title, tools = domain.title, str(len(domain.tool_specs()))
            except Exception as exc:  # a broken package must not hide the others
                title, tools = f"[red]cannot load: {exc}[/]", "?"
            table.add_row(name + (" [bold](current)[/]" if name == current else ""), title, tools, target)
        _console().print(table)

    run_cli(body)


def scaffold(name: str, target: Path) -> list[Path]:
    """Write a working domain package called ``name`` under ``target``; the files written."""
    pkg = name.replace("-", "_")
    values = {"name": name, "pkg": pkg, "title": name.replace("-", " ").title()}
    written = []
    for template, place in LAYOUT.items():
        path = target / place.format(pkg=pkg)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((SCAFFOLD / template).read_text(encoding="utf-8")).substitute(values))
        written.append(path)
    for package in (target / pkg, target / pkg / "migrations", target / pkg / "migrations" / "versions"):
        (package / "__init__.py").touch()
    mako = Path(__file__).resolve().parents[2] / "persistence" / "migrations" / "script.py.mako"
    (target / pkg / "migrations" / "script.py.mako").write_text(mako.read_text(encoding="utf-8"))
    return written


@domains_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="the domain's name: lower case letters, digits and dashes")],
    directory: Annotated[Path | None, typer.Option("--dir", help="where to create it (default: ./NAME)")] = None,
) -> None:
    """Scaffold a domain package (a table, a read and a high-risk tool, a seed, a document, a
    prompt, two scenarios) that runs at once: `pip install -e NAME`, then `tiller --domain NAME …`."""
    if not NAME.match(name):
        _fail(f"domain name {name!r} must be 2-31 lower-case letters, digits or dashes, starting with a letter")
    target = directory or Path(name)
    if target.exists() and any(target.iterdir()):
        _fail(f"{target} exists and is not empty; pick another --dir")
    files = scaffold(name, target)
    console = _console()
    console.print(f"created the domain {name!r} in {target} ({len(files)} files). Next:")
    for step in (
        f"pip install -e {target}",
        f"tiller --domain {name} db upgrade && tiller --domain {name} db seed && tiller --domain {name} index",
        f'tiller --domain {name} ask "What is the status of item I1002?"',
        f"tiller --domain {name} eval run {target / 'scenarios'}",
    ):
        console.print(f"  {step}")


@domains_app.command("check")
def check(
    name: Annotated[
        str | None, typer.Argument(help="an installed domain or pkg.module:domain (default: --domain / TILLER_DOMAIN)")
    ] = None,
) -> None:
    """Check a domain as the runtime loads it: its tools' definitions, and that each tool's
    examples select that tool on the offline model; exit 1 naming the examples that do not."""
    from agent.config import domain_of
    from agent.interfaces.cli._common import _settings
    from agent.models.offline.select import examples_leave_one_out
    from agent.runtime.toolset import domain_registry
    from tools.domain import load_domain

    def body() -> None:
        settings = _settings()
        domain = load_domain(name) if name else domain_of(settings)
        closers: list[Callable[[], None]] = []
        try:
            schemas = domain_registry(settings, domain, closers).model_schemas()  # definitions: checked here
        finally:
            for close in closers:
                close()
        misses = examples_leave_one_out(schemas)
        examples = sum(len(s.get("x-tiller", {}).get("examples", ())) for s in schemas)
        console = _console()
        console.print(
            f"{domain.name}: {len(schemas)} tools load; {examples - len(misses)}/{examples} examples select their tool"
        )
        for miss in misses:
            got = miss.selected or "no tool"
            console.print(f"  [red]✗[/] {miss.tool}: {miss.example!r} selects {got} — {miss.advice}", soft_wrap=True)
        if misses:
            raise typer.Exit(1)

    run_cli(body)
