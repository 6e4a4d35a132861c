"""Postal addresses in a request: "… to 500 Pine St, Portland, OR 97201, US".

Tools that take an address as separate fields (street, city, region, postal code, country)
are common enough that the offline model reads one comma-separated address, starting with a
house number, into those fields by their usual names. Anything it cannot place is left for a
clarifying question, where the user can answer as ``field: value``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.models.offline.fields import FieldView

_ROLES = {
    "street": ("line1", "address_line1", "address1", "street", "street_address", "address"),
    "city": ("city", "town"),
    "region": ("region", "state", "province", "county"),
    "postal": ("postal_code", "zip", "zip_code", "postcode"),
    "country": ("country", "country_code"),
}
_ADDRESS = re.compile(r"(?:^|\b(?:to|at|is|:)\s+)(\d+\w*\s+[^,\n?!;]+(?:,\s*[^,\n?!;]+){1,4})", re.I)


def _by_role(fields: Sequence[FieldView]) -> dict[str, FieldView]:
    roles: dict[str, FieldView] = {}
    for view in fields:
        for role, names in _ROLES.items():
            if view.name in names and role not in roles:
                roles[role] = view
    return roles


def _fits(view: FieldView, value: str) -> bool:
    return bool(value) and (view.pattern is None or re.fullmatch(view.pattern, value) is not None)


def address_fields(fields: Sequence[FieldView]) -> list[FieldView]:
    """The fields that make up an address, if the tool takes one (a street and a city)."""
    roles = _by_role(fields)
    return list(roles.values()) if "street" in roles and "city" in roles else []


def parse_address(fields: Sequence[FieldView], text: str) -> dict[str, str]:
    """Values for the address fields found in ``text`` (empty if it holds no address)."""
    roles = _by_role(fields)
    match = _ADDRESS.search(text) if "street" in roles and "city" in roles else None
    if match is None:
        return {}
    parts = [p.strip(" .") for p in match.group(1).split(",")]
    # "…, city: Springfield": from there on the user names the fields, and named values win.
    parts = parts[: next((i for i, p in enumerate(parts) if ":" in p), len(parts))]
    if len(parts) < 2:
        return {}
    values = {"street": parts[0], "city": parts[1]}
    rest = parts[2:]
    if rest and "postal" in roles:
        # "OR 97201": the region and the postal code share one part, the code after the region.
        tokens = rest[0].split()
        for index, token in enumerate(tokens):
            if any(c.isdigit() for c in token) and _fits(roles["postal"], token):
                values["postal"] = token
                if index:
                    values["region"] = " ".join(tokens[:index])
                rest = rest[1:]
                break
    if rest and "country" in roles and _fits(roles["country"], rest[-1]):
        values["country"] = rest.pop()
    if rest and "region" not in values:
        values["region"] = rest.pop(0)
    return {roles[r].name: v for r, v in values.items() if r in roles and _fits(roles[r], v)}
