"""The MCP servers file and the risk rules, without starting a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import types

from tools.contract import Risk
from tools.errors import ToolDefinitionError
from tools.mcp import HttpServer, StdioServer, load_mcp_config, risk_of, tiller_name


def test_a_servers_file_reads_both_transports_and_expands_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", "s3cret")
    path = tmp_path / "mcp.yaml"
    path.write_text(
        "servers:\n"
        "  files: {transport: stdio, command: python, args: [-m, files_server], env: {TOKEN: '${CRM_TOKEN}'}}\n"
        "  crm:\n"
        "    transport: streamable_http\n"
        "    url: http://127.0.0.1:8931/mcp\n"
        "    headers: {Authorization: 'Bearer ${CRM_TOKEN}'}\n"
        "    timeout_s: 5\n"
        "    risk: {update_customer: high_risk}\n"
    )
    config = load_mcp_config(path)
    files, crm = config.servers["files"], config.servers["crm"]
    assert isinstance(files, StdioServer) and files.args == ("-m", "files_server") and files.env == {"TOKEN": "s3cret"}
    assert isinstance(crm, HttpServer) and crm.headers == {"Authorization": "Bearer s3cret"}
    assert crm.timeout_s == 5 and crm.risk == {"update_customer": Risk.HIGH_RISK}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "servers:\n  crm: {transport: streamable_http, url: 'http://x/mcp', headers: {A: '${NOPE_UNSET}'}}\n",
            "NOPE_UNSET",
        ),
        ("servers:\n  crm: {transport: streamable_http, url: 'ftp://x'}\n", "http"),
        ("servers:\n  Bad-Name: {transport: stdio, command: x}\n", "lower_snake_case"),
        ("servers:\n  crm: {transport: carrier_pigeon, url: 'http://x'}\n", "transport"),
        ("servers:\n  crm: {transport: stdio, command: x, risk: {t: harmless}}\n", "risk"),
    ],
)
def test_a_bad_servers_file_names_the_file_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text(text)
    with pytest.raises(ToolDefinitionError, match=problem) as info:
        load_mcp_config(path)
    assert "mcp.yaml" in str(info.value)


def _tool(annotations: types.ToolAnnotations | None) -> types.Tool:
    return types.Tool(name="t", inputSchema={"type": "object"}, annotations=annotations)


@pytest.mark.parametrize(
    ("hints", "risk"),
    [
        (None, Risk.HIGH_RISK),  # unknown: a reviewer decides
        (types.ToolAnnotations(title="only a title"), Risk.HIGH_RISK),
        (types.ToolAnnotations(readOnlyHint=True), Risk.READ),
        (types.ToolAnnotations(readOnlyHint=False, destructiveHint=False), Risk.WRITE),
        (types.ToolAnnotations(destructiveHint=False), Risk.WRITE),
        (types.ToolAnnotations(readOnlyHint=False), Risk.HIGH_RISK),  # MCP: destructiveHint defaults to true
        (types.ToolAnnotations(destructiveHint=True, idempotentHint=True), Risk.HIGH_RISK),
    ],
)
def test_risk_follows_the_annotations(hints: types.ToolAnnotations | None, risk: Risk) -> None:
    assert risk_of(_tool(hints))[0] is risk


def test_the_servers_file_overrides_the_annotations() -> None:
    assert risk_of(_tool(types.ToolAnnotations(readOnlyHint=True)), Risk.HIGH_RISK) == (
        Risk.HIGH_RISK,
        "set in the MCP servers file",
    )


@pytest.mark.parametrize(
    ("name", "prefix", "expected"),
    [
        ("getWeather", "", "get_weather"),
        ("get-weather", "crm_", "crm_get_weather"),
        ("list.Files v2", "", "list_files_v2"),
    ],
)
def test_mcp_names_become_tiller_names(name: str, prefix: str, expected: str) -> None:
    assert tiller_name(name, prefix) == expected
