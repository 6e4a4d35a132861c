"""One self-contained HTML file per run: no script, no font, no network — open it anywhere.

Per scenario: its checks (a rubric with the judge's verdict and reason per criterion), why F1 is
below 1 (the calls matched, extra or missing, and what the match mode allows), the expected and
actual trajectories aligned side by side (extra calls a superset allows marked as such), the
approval events, the database diff and each turn's answer (simulated users' messages marked).
At the top: the summary and bar charts (inline SVG) of pass rate and mean latency by tag.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from html import escape
from pathlib import Path

from evals.arg_matching import render_call
from evals.results import CheckResult, RunRecord, ScenarioResult, TrialResult

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.pass{color:#17803d}.fail,.error{color:#c62828}.skip{color:#b26a00}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
summary{cursor:pointer;font-weight:600}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.4em}.muted{color:#777}
.row-miss td{background:#fdecea}.row-ok td{background:#edf7ee}.row-extra td{background:#fff8e1}
.credit{border-left:3px solid #b26a00;padding:.1em .8em;margin:.4em 0}.charts{display:flex;gap:2em;flex-wrap:wrap}
"""


def write_html(record: RunRecord, path: Path) -> Path:
    """Write the run as one self-contained HTML file."""
    path.write_text(render_html(record), encoding="utf-8")
    return path


def render_html(record: RunRecord) -> str:
    """The run as one self-contained HTML page: the summary, then each scenario with its trials."""
    s = record.summary
    helpers = "".join(
        f" · {role} {escape(spec)}" for role, spec in (("judge", record.judge), ("simulator", record.simulator)) if spec
    )
    head = (
        f"<h1>tiller eval · {escape(record.model)}{helpers} · k={record.k}</h1>"
        f"<p class=muted>{record.started_at:%Y-%m-%d %H:%M:%S} UTC · {s.scenarios} scenarios: "
        f"<span class=pass>{s.passed} passed</span>, <span class=fail>{s.failed} failed</span>, "
        f"<span class=skip>{s.skipped} skipped</span> · pass rate {s.pass_rate:.0%} · pass^{record.k} "
        f"{s.pass_hat_k:.2f} · latency p50 {s.latency_p50_s:.2f}s / p95 {s.latency_p95_s:.2f}s · "
        f"{s.tokens} tokens · ${s.cost_usd:.4f}</p>"
    )
    body = [head, _charts(record), _overview(record), *(_scenario(x, record.k) for x in record.scenarios)]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>tiller eval {escape(record.model)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _status(status: str) -> str:
    css = {"passed": "pass", "failed": "fail", "error": "error"}.get(status, "skip")
    return f"<span class={css}>{escape(status)}</span>"


def _overview(record: RunRecord) -> str:
    rows = []
    for x in record.scenarios:
        latency = sum(t.transcript.latency_s for t in x.trials) / len(x.trials) if x.trials else 0.0
        rows.append(
            f"<tr><td><a href='#{escape(x.id)}'>{escape(x.id)}</a></td><td>{_status(x.status)}</td>"
            f"<td>{x.pass_hat(record.k):.2f}</td><td>{x.passes}/{len(x.trials)}</td>"
            f"<td>{escape(', '.join(x.tags))}</td><td>{latency:.2f}s</td></tr>"
        )
    header = (
        f"<tr><th>scenario</th><th>result</th><th>pass^{record.k}</th><th>trials</th><th>tags</th><th>latency</th></tr>"
    )
    return f"<table>{header}{''.join(rows)}</table>"


def _charts(record: RunRecord) -> str:
    by_tag: dict[str, list[TrialResult]] = defaultdict(list)
    for x in record.scenarios:
        for tag in x.tags or ["(untagged)"]:
            by_tag[tag].extend(x.trials)
    tags = sorted(t for t, trials in by_tag.items() if trials)
    if not tags:
        return ""
    rates = [sum(t.passed for t in by_tag[tag]) / len(by_tag[tag]) for tag in tags]
    times = [sum(t.transcript.latency_s for t in by_tag[tag]) / len(by_tag[tag]) for tag in tags]
    return (
        "<div class=charts>"
        + _bars("pass rate by tag", tags, rates, 1.0, lambda v: f"{v:.0%}")
        + _bars("mean latency by tag (s)", tags, times, max(times) or 1.0, lambda v: f"{v:.2f}")
        + "</div>"
    )


def _bars(title: str, labels: list[str], values: list[float], scale: float, fmt: Callable[[float], str]) -> str:
    width, bar = 260, 16
    rows = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 24 + i * (bar + 6)
        length = max(1.0, width * value / scale)
        text = fmt(value)
        rows.append(
            f"<text x=0 y={y + 12} font-size=11>{escape(label)}</text>"
            f"<rect x=130 y={y} width={length:.1f} height={bar} fill='#5b8def'/>"
            f"<text x={134 + length:.1f} y={y + 12} font-size=11>{escape(text)}</text>"
        )
    height = 30 + len(labels) * (bar + 6)
    return (
        f"<svg width={width + 190} height={height} role=img aria-label='{escape(title)}'>"
        f"<text x=0 y=14 font-weight=bold font-size=12>{escape(title)}</text>{''.join(rows)}</svg>"
    )


def _scenario(x: ScenarioResult, k: int) -> str:
    parts = [
        f"<details id='{escape(x.id)}' {'open' if x.status == 'failed' else ''}>",
        f"<summary>{_status(x.status)} {escape(x.id)} <span class=muted>{x.passes}/{len(x.trials)} trials · "
        f"pass^{k} {x.pass_hat(k):.2f}</span></summary>",
        f"<p>{escape(x.description)}<br><span class=muted>{escape(x.file)}</span></p>",
    ]
    if x.skip_reason:
        parts.append(f"<p class=skip>{escape(x.skip_reason)}</p>")
    parts += [_trial(x, t) for t in x.trials]
    parts.append("</details>")
    return "\n".join(parts)


def _trial(x: ScenarioResult, trial: TrialResult) -> str:
    checks = "".join(
        f"<li>{_status(c.outcome)} {escape(c.name)}"
        + (_criteria(c) if c.criteria else f"<pre>{escape(chr(10).join(c.details))}</pre>" if c.details else "")
        + "</li>"
        for c in trial.checks
    )
    return (
        f"<h4>trial {trial.trial}: {_status('passed' if trial.passed else 'failed')} · F1 {trial.credit.f1:.2f}</h4>"
        f"<ul>{checks}</ul>{_credit(trial)}{_alignment(x.expected_calls, trial)}{_approvals(trial)}"
        f"{_changes(trial)}{_turns(trial)}"
    )


def _credit(trial: TrialResult) -> str:
    """Why F1 is below 1: the note (what the match mode allows) and the calls behind it."""
    credit = trial.credit
    if not credit.note:
        return ""
    lists = "".join(
        f"<li>{label}: <code>{escape(call)}</code></li>"
        for label, calls in (("matched", credit.matched), ("extra", credit.extra), ("missing", credit.missing))
        for call in calls
    )
    return f"<div class=credit><p>{escape(credit.note)}</p><ul>{lists}</ul></div>"


def _criteria(check: CheckResult) -> str:
    """The judge's verdict: one row per criterion, with its reason."""
    rows = "".join(
        f"<tr><td>{escape(r.criterion)}</td><td>{_status('passed' if r.passed else 'failed')}</td>"
        f"<td>{escape(r.reason)}</td></tr>"
        for r in check.criteria
    )
    return f"<table><tr><th>criterion</th><th>verdict</th><th>judge's reason</th></tr>{rows}</table>"


def _alignment(expected: list[str], trial: TrialResult) -> str:
    calls = trial.transcript.calls
    paired = {a: e for e, a in trial.matched}
    trajectory_ok = any(c.name == "trajectory" and c.passed for c in trial.checks)
    unpaired = "row-extra" if trajectory_ok and trial.credit.mode == "superset" else "row-miss"
    rows = []
    for j, call in enumerate(calls):
        want = escape(expected[paired[j]]) if j in paired else ""
        if j not in paired and unpaired == "row-extra":
            want = "<span class=muted>extra: allowed by match superset</span>"
        css = "row-ok" if j in paired else unpaired if expected else ""
        actual = (
            f"{call.index}. {escape(render_call(call.tool, call.args))} <span class=muted>{escape(call.status)}</span>"
        )
        rows.append(f"<tr class='{css}'><td>{want}</td><td>{actual}</td></tr>")
    unmatched = [e for e in range(len(expected)) if e not in paired.values()]
    left_out = trajectory_ok and trial.credit.mode == "subset"
    missing = ("row-extra", "not made: allowed by match subset") if left_out else ("row-miss", "missing")
    rows += [
        f"<tr class={missing[0]}><td>{escape(expected[e])}</td><td class=muted>{missing[1]}</td></tr>"
        for e in unmatched
    ]
    return f"<table><tr><th>expected</th><th>actual</th></tr>{''.join(rows)}</table>" if rows else ""


def _approvals(trial: TrialResult) -> str:
    events = trial.transcript.approvals
    if not events:
        return ""
    rows = "".join(
        f"<tr><td>{e.turn}</td><td>{escape(render_call(e.tool, e.args))}</td><td>{escape(e.decision)}</td>"
        f"<td>{escape(e.reason or '')}{escape(' edits: ' + str(e.edits) if e.edits else '')}</td></tr>"
        for e in events
    )
    return f"<table><tr><th>turn</th><th>approval requested for</th><th>decision</th><th>note</th></tr>{rows}</table>"


def _changes(trial: TrialResult) -> str:
    if not trial.changes:
        return "<p class=muted>no database changes</p>"
    lines = [line for table in sorted(trial.changes) for line in trial.changes[table]]
    return f"<p>database changes:</p><pre>{escape(chr(10).join(lines))}</pre>"


def _turns(trial: TrialResult) -> str:
    turns = "".join(
        f"<tr><td>{escape(t.message)}"
        + (" <span class=muted>(simulated user)</span>" if t.source == "simulator" else "")
        + f"</td><td>{escape(t.status)}</td><td><pre>{escape(t.answer)}</pre></td></tr>"
        for t in trial.transcript.turns
    )
    simulation = trial.transcript.simulation
    played = (
        f"<p class=muted>simulated user ({escape(simulation.model)}): {simulation.turns} message(s), "
        f"ended: {escape(simulation.ended or 'not started')}</p>"
        if simulation
        else ""
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in trial.transcript.notes)
    return f"{played}<table><tr><th>user</th><th>status</th><th>answer</th></tr>{turns}</table>" + (
        f"<ul class=muted>{notes}</ul>" if notes else ""
    )
