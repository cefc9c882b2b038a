"""Uses the Python client that openapi-python-client GENERATED from the API document against a
running demo server, the way a deliverer's or prefecture's IT department would, and asserts
that the typed results parse (no crash on a null field, a missing field, an unknown enum).

Run by `scripts/check-openapi` with the generated package `vsys_api_client` on PYTHONPATH:

    python scripts/openapi_client_check.py BASE_URL

Exit 0 when every check passed, 1 otherwise (each failure printed).
"""

from __future__ import annotations

import datetime
import sys
import time
from typing import Any

from vsys_api_client import AuthenticatedClient, Client
from vsys_api_client.api.allocation import autofill, get_cycle, get_division, list_cycles
from vsys_api_client.api.delivery import delivery_status, list_deliveries
from vsys_api_client.api.session import login, me
from vsys_api_client.models import (
    AutofillBody,
    Explanation,
    CycleOut,
    CyclePage,
    DeliveryOut,
    DeliveryPage,
    DeliveryStatus,
    DivisionOut,
    LineOut,
    LoginBody,
    MeOut,
    Problem,
    Status,
    StoredExplanation,
    TokenOut,
    Unit,
)
from vsys_api_client.types import Unset

PASSWORD = "vsys-demo-password"
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        failures.append(what)


def log_in(base: str, email: str) -> AuthenticatedClient:
    with Client(base_url=base, raise_on_unexpected_status=True) as anon:
        res = login.sync_detailed(client=anon, body=LoginBody(email=email, password=PASSWORD))
    check(isinstance(res.parsed, TokenOut), f"{email} logs in (201 TokenOut): {res.status_code}")
    if not isinstance(res.parsed, TokenOut):
        raise SystemExit(f"cannot go on without a token: {res.status_code} {res.content[:300]!r}")
    token = res.parsed
    check(isinstance(token.expires_at, datetime.datetime), "expires_at is a datetime")
    client = AuthenticatedClient(base_url=base, token=token.token, raise_on_unexpected_status=True)
    who = me.sync(client=client)
    check(isinstance(who, MeOut) and who.email == email, f"GET /me names {email}")
    return client


def wholesaler(base: str) -> None:
    print("wholesaler-operator: GET /api/v1/deliveries")
    client = log_in(base, "wholesaler-operator@demo.vsys.jp")
    page = list_deliveries.sync(client=client, per_page=100)
    check(isinstance(page, DeliveryPage), f"the list parses as DeliveryPage: {type(page).__name__}")
    if not isinstance(page, DeliveryPage):
        return
    check(page.page == 1 and page.per_page == 100 and page.total >= len(page.items),
          f"page 1 of {page.total} deliveries, {len(page.items)} on it")
    for d in page.items:
        check(isinstance(d, DeliveryOut), f"delivery {d.id} is a DeliveryOut")
        # Dates are dates or null (never strings); the enum is typed.
        for name in ("scheduled_on", "delivered_on"):
            v = getattr(d, name)
            if not (v is None or isinstance(v, (datetime.date, Unset))):
                check(False, f"delivery {d.id}: {name} is {type(v).__name__}")
        if not isinstance(d.updated_at, datetime.datetime):
            check(False, f"delivery {d.id}: updated_at is {type(d.updated_at).__name__}")
    status = delivery_status.sync(client=client)
    check(isinstance(status, DeliveryStatus), f"GET /deliveries/status parses: {type(status).__name__}")
    if isinstance(status, DeliveryStatus):
        check(isinstance(status.today, datetime.date), "status.today is a date")


def nation(base: str) -> None:
    print("nation-operator: GET /api/v1/cycles, then the nation's division of the open cycle")
    client = log_in(base, "nation-operator@demo.vsys.jp")
    cycles = list_cycles.sync(client=client, per_page=50)
    check(isinstance(cycles, CyclePage), f"the cycle list parses as CyclePage: {type(cycles).__name__}")
    if not isinstance(cycles, CyclePage) or not cycles.items:
        check(False, "the demo has a cycle")
        return
    today = datetime.date.today()
    # The demo's open cycle: the one whose period has not ended (else the newest).
    open_cycles = [c for c in cycles.items if c.period_end >= today] or cycles.items
    cycle = open_cycles[0]
    check(isinstance(cycle, CycleOut) and isinstance(cycle.period_start, datetime.date),
          f"cycle {cycle.name}: typed, period {cycle.period_start}..{cycle.period_end}")
    check(isinstance(cycle.unit_site, Unit), f"unit_site is a Unit: {cycle.unit_site!r}")
    check(cycle.formulas.site.weights.population >= 0, "formulas is an object with typed weights")
    one = get_cycle.sync_detailed(cycle.id, client=client)
    check(isinstance(one.parsed, CycleOut) and one.headers.get("etag", "").startswith('"v'),
          f"GET /cycles/{{id}} parses and carries an ETag: {one.headers.get('etag')}")
    res = get_division.sync_detailed(cycle.id, "JP", client=client)
    division = res.parsed
    check(isinstance(division, DivisionOut), f"the nation's division parses as DivisionOut: {res.status_code}")
    if not isinstance(division, DivisionOut):
        return
    check(isinstance(division.status, Status) and isinstance(division.unit, Unit), "status and unit are enums")
    check(division.explanation is None or isinstance(division.explanation, (StoredExplanation, Unset)),
          f"the nation's explanation is null or typed: {division.explanation!r}")
    check(len(division.lines) == 47, f"47 prefecture lines: {len(division.lines)}")
    check(res.headers.get("etag") == f'"v{division.version}"', "the ETag is the division's version")
    nulls = 0
    for line in division.lines:
        if not isinstance(line, LineOut):
            check(False, f"line {line!r} is not a LineOut")
            continue
        if line.explanation is None or isinstance(line.explanation, Unset):
            nulls += 1
        elif not isinstance(line.explanation, StoredExplanation):
            check(False, f"line {line.org_code}: explanation is {type(line.explanation).__name__}")
    print(f"  ..   {nulls} of {len(division.lines)} lines have no explanation yet (null parsed)")
    # Auto-fill the nation's division (If-Match: the ETag read above): every line then carries
    # an explanation, which must parse into its types (quotas, the cap as a [kind, value] pair).
    res = autofill.sync_detailed(cycle.id, "JP", client=client, body=AutofillBody(),
                                 if_match=res.headers.get("etag", ""))
    filled = res.parsed
    check(isinstance(filled, DivisionOut), f"auto-fill (If-Match) answers the division: {res.status_code}")
    if not isinstance(filled, DivisionOut):
        return
    check(filled.version > division.version, f"the version moved: v{division.version} -> v{filled.version}")
    explained = [line for line in filled.lines if isinstance(line.explanation, StoredExplanation)]
    check(len(explained) == len(filled.lines), f"{len(explained)} of {len(filled.lines)} lines explained")
    for line in explained:
        auto = line.explanation.auto
        if not isinstance(auto, Explanation) or not auto.quotas:
            check(False, f"line {line.org_code}: no typed auto-fill explanation: {auto!r}")
            break
    else:
        total = sum(line.amount for line in filled.lines)
        check(total <= filled.amount, f"the lines add up within the node: {total} <= {filled.amount}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    base = argv[1].rstrip("/")
    start = time.monotonic()
    try:
        wholesaler(base)
        nation(base)
    except Exception as e:  # a crash of the typed client is a failure of the document
        failures.append(f"the generated client crashed: {type(e).__name__}: {e}")
        import traceback

        traceback.print_exc()
    took = time.monotonic() - start
    if failures:
        print(f"openapi-client-check: {len(failures)} FAILED in {took:.1f} s:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print(f"openapi-client-check: OK in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
