"""The REST resources: Query, Query More Results, sObject Basic Information (create) and
sObject Rows (read), and Limits. Each runs under the org's lock and answers
`(status, body)`; refusals are Salesforce's JSON error lists (shapes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulator.salesforce import shapes
from bot.emulator.salesforce.cursors import Cursors, batch_size
from bot.emulator.salesforce.query import plan_query, select_records
from bot.emulator.salesforce.render import attributes, render, render_value
from bot.emulator.salesforce.schema import sobject
from bot.emulator.salesforce.soql import SoqlError, parse
from bot.emulator.salesforce.store import Org
from bot.emulator.salesforce.tasks import TaskError, validate_task

Answer = tuple[int, Any]


@dataclass
class Request:
    method: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    version: str


@dataclass
class Context:
    org: Org
    cursors: Cursors
    allowance: Callable[[], tuple[int, int]]  # (used, max) for /limits
    max_batch: int = 2000


def run_query(ctx: Context, request: Request) -> Answer:
    text = (request.query.get("q") or [""])[0]
    if not text.strip():
        return 400, shapes.error("MALFORMED_QUERY", "A query string has to be specified")
    try:
        plan = plan_query(ctx.org, text, parse(text))
    except SoqlError as exc:
        return 400, shapes.error(exc.code, exc.message)
    rows = select_records(ctx.org, plan, list(ctx.org.records[plan.sobject.name].values()))
    batch = batch_size(request.headers.get("sforce-query-options"), ctx.max_batch)
    ids = [r["Id"] for r in rows]
    locator = ctx.cursors.open(plan, ids, batch) if len(ids) > batch else None
    return 200, _page(ctx, plan, ids, 0, batch, locator, request.version)


def query_more(ctx: Context, request: Request) -> Answer:
    cursor = ctx.cursors.get(request.params["locator"])
    offset = int(request.params["offset"])
    if cursor is None or offset > len(cursor.ids):
        return 400, shapes.error("INVALID_QUERY_LOCATOR", "invalid query locator")
    header = request.headers.get("sforce-query-options")
    batch = batch_size(header, ctx.max_batch) if header else cursor.batch
    locator = request.params["locator"]
    return 200, _page(ctx, cursor.plan, cursor.ids, offset, batch, locator, request.version)


def _page(
    ctx: Context,
    plan: Any,
    ids: list[str],
    offset: int,
    batch: int,
    locator: str | None,
    version: str,
) -> dict[str, Any]:
    chunk = ids[offset : offset + batch]
    records = []
    for record_id in chunk:
        record = ctx.org.records[plan.sobject.name].get(record_id)
        if record is not None:  # deleted since the query ran
            records.append(render(ctx.org, plan, record, version))
    done = offset + len(chunk) >= len(ids)
    page: dict[str, Any] = {"totalSize": len(ids), "done": done}
    if not done:
        page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + len(chunk)}"
    page["records"] = records
    return page


def create_record(ctx: Context, request: Request) -> Answer:
    spec = sobject(request.params["type"])
    if spec is None or not ctx.org.object_visible(spec.name):
        return 404, shapes.not_found()
    if spec.name != "Task":
        return 400, shapes.error(
            "FAKE_UNSUPPORTED", f"FakeSalesforce creates Tasks only, not {spec.name}"
        )
    try:
        values = validate_task(ctx.org, request.body)
    except TaskError as exc:
        return 400, shapes.error(exc.code, exc.message, exc.fields)
    record_id = ctx.org.add("Task", values)
    return 201, {"id": record_id, "success": True, "errors": []}


def get_record(ctx: Context, request: Request) -> Answer:
    spec = sobject(request.params["type"])
    found = ctx.org.find(request.params["id"]) if spec is not None else None
    if spec is None or found is None or found[0] != spec.name:
        return 404, shapes.not_found()
    names = [f.name for f in spec.fields.values() if ctx.org.visible(spec.name, f.name)]
    wanted = (request.query.get("fields") or [""])[0]
    if wanted:
        asked = [w.strip() for w in wanted.split(",") if w.strip()]
        unknown = [w for w in asked if w.lower() not in {n.lower() for n in names}]
        if unknown:
            return 400, shapes.error(
                "INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{spec.name}'."
            )
        names = [spec.fields[w.lower()].name for w in asked]
    record = found[1]
    out: dict[str, Any] = {"attributes": attributes(spec.name, record["Id"], request.version)}
    for name in names:
        out[name] = render_value(spec.fields[name.lower()], record.get(name))
    return 200, out


def limits(ctx: Context, request: Request) -> Answer:
    used, most = ctx.allowance()
    return 200, {"DailyApiRequests": {"Max": most, "Remaining": max(0, most - used)}}
