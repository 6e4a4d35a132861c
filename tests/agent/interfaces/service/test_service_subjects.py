"""Keys bound to one customer (``--subject``): the API refuses other customers' records as it
refuses other tenants' — the same "not found", whatever ids the caller sends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agent.interfaces.service.context import ServiceContext


def _customer_key(ctx: ServiceContext, name: str, subject: str) -> dict[str, str]:
    _, key = ctx.keys.create(tenant="acme", role="user", name=name, subject=subject)
    return {"Authorization": f"Bearer {key}"}


def _ask(client: TestClient, headers: dict[str, str], text: str) -> dict:
    thread = client.post("/v1/threads", json={"title": "mine"}, headers=headers).json()["id"]
    done = client.post(f"/v1/threads/{thread}/messages", json={"content": text, "stream": False}, headers=headers)
    assert done.status_code == 200, done.text
    return done.json()


def test_a_customer_key_reads_its_own_orders(client: TestClient, ctx: ServiceContext) -> None:
    jane = _customer_key(ctx, "jane.customer", "C000001")
    result = _ask(client, jane, "where is my order W1000002?")
    assert [c["status"] for c in result["trajectory"]] == ["executed"]
    assert result["trajectory"][0]["result"]["customer_id"] == "C000001"


def test_another_customers_order_looks_like_no_order(client: TestClient, ctx: ServiceContext) -> None:
    jane = _customer_key(ctx, "jane.curious", "C000001")
    theirs = _ask(client, jane, "where is my order W1000004?")  # Omar's
    missing = _ask(client, jane, "where is my order W1999999?")  # nobody's
    [call], [none] = theirs["trajectory"], missing["trajectory"]
    assert call["status"] == none["status"] == "error"
    assert call["error"]["kind"] == none["error"]["kind"] == "not_found"
    assert "W1000004" not in str(call.get("result")) and "omar" not in theirs["answer"].lower()


def test_a_customer_key_cannot_change_another_customers_order(client: TestClient, ctx: ServiceContext) -> None:
    jane = _customer_key(ctx, "jane.mover", "C000001")
    result = _ask(client, jane, "Change the delivery address of W1000007 to 500 Pine St, Portland, OR 97201, US")
    assert all(c["status"] != "executed" for c in result["trajectory"] if c["tool"] == "update_shipping_address")
    order = _ask(client, _customer_key(ctx, "omar.self", "C000002"), "where is my order W1000007?")
    assert "Pine" not in str(order["trajectory"][0]["result"]["shipping_address"])


def test_a_customer_changing_their_own_address_needs_no_reviewer(client: TestClient, ctx: ServiceContext) -> None:
    jane = _customer_key(ctx, "jane.moves", "C000001")
    result = _ask(client, jane, "Change the delivery address of W1000003 to 500 Pine St, Portland, OR 97201, US")
    assert result["status"] == "completed"
    assert [(c["tool"], c["status"]) for c in result["trajectory"]][-1] == ("update_shipping_address", "executed")


def test_a_customer_key_does_not_see_a_staff_thread(client: TestClient, ctx: ServiceContext) -> None:
    _, staff = ctx.keys.create(tenant="acme", role="user", name="jane.twin")
    staff_headers = {"Authorization": f"Bearer {staff}"}
    thread = client.post("/v1/threads", json={"title": "staff"}, headers=staff_headers).json()["id"]
    bound = _customer_key(ctx, "jane.twin", "C000001")  # the same name, bound to a customer
    assert client.get(f"/v1/threads/{thread}", headers=bound).status_code == 404


def test_only_user_keys_are_bound_to_a_subject(ctx: ServiceContext) -> None:
    import pytest

    from agent.errors import InvalidKeyRequest

    with pytest.raises(InvalidKeyRequest):
        ctx.keys.create(tenant="acme", role="reviewer", name="rita.bound", subject="C000001")
