"""Schemathesis hooks and helpers for `scripts/fuzz-api` (the API fuzz harness).

Loaded by schemathesis 4.x through its hooks mechanism: `scripts/fuzz-api` sets
`SCHEMATHESIS_HOOKS=<repo>/scripts/fuzz_api_hooks.py` (a path, so it is executed as a file; a
dotted module name would also do). Everything `@schemathesis.check` / `@schemathesis.hook`
registers here is then known to `schemathesis run`, and the script selects the custom check by
name with `--checks not_a_server_error,problem_json_for_4xx[,...]`.

What is here:

* `problem_json_for_4xx` - a custom check: every 4xx response must carry
  `Content-Type: application/problem+json` (RFC 9457), as the API document promises.
* `before_load_schema` - repairs one known defect of the served document before schemathesis
  reads it: parameters declared `in: path` whose name is not in the path template (they are
  really query parameters). Without the repair schemathesis generates them and then silently
  drops them, so no query string is ever sent. Turned off with VSYS_FUZZ_REPAIR_SCHEMA=0
  (`scripts/fuzz-api --no-schema-repair`); every repair is written to VSYS_FUZZ_OUT.
* `before_generate_path_parameters` / `before_generate_query` - mix identifiers that exist
  (harvested by `harvest` below, file VSYS_FUZZ_SEEDS) into the generated ones, so that
  operations on `/cycles/{id}/...`, `/sites/{code}/...` reach their handlers instead of 404.
* `before_call` - the same for the coverage phase (which does not go through the strategies
  above): path parameters other than the one under test get a known identifier; and updates
  guarded by `If-Match` get the current ETag instead of a generated one.
  VSYS_FUZZ_BASE_URL and VSYS_FUZZ_TOKEN tell it where to GET the ETag; VSYS_FUZZ_IF_MATCH=0
  turns that off.
* `after_call` / `after_network_error` and the check above append every finding (5xx, dropped
  connection, 4xx without problem+json) to VSYS_FUZZ_OUT/findings.jsonl with a curl command
  that reproduces it; `summarise` de-duplicates them.

Run as a program (with the venv's python) it offers the helpers the shell script needs:

    python scripts/fuzz_api_hooks.py login BASE EMAIL PASSWORD [TOTP]  -> JSON {token, user_id, ...}
    python scripts/fuzz_api_hooks.py harvest BASE TOKEN PROTECTED_IDS OUT.json
    python scripts/fuzz_api_hooks.py summarise OUT_DIR [SERVER_LOG]
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import threading
from typing import Any

import schemathesis

PROBLEM_JSON = "application/problem+json"
_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# Findings log


def _out_dir() -> str | None:
    return os.environ.get("VSYS_FUZZ_OUT") or None


def _curl(request: Any) -> str:
    """A curl command that replays `request` (a requests.PreparedRequest); the token is $TOKEN."""
    parts = ["curl", "-sS", "-i", "-X", request.method or "GET"]
    for name, value in request.headers.items():
        lname = name.lower()
        if lname == "authorization":
            parts += ["-H", "Authorization: Bearer $TOKEN"]
        elif lname in ("content-type", "accept-language", "if-match"):
            parts += ["-H", f"{name}: {value}"]
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    prefix = ""
    if body:
        printable = all(32 <= b < 127 or b in (9, 10, 13) for b in body)
        if printable:
            parts += ["--data-binary", body.decode("ascii")]
        else:
            esc = "".join(
                chr(b) if 32 <= b < 127 and chr(b) not in "\\%'" else f"\\x{b:02x}" for b in body
            )
            prefix = f"printf '{esc}' | "
            parts += ["--data-binary", "@-"]
    parts.append(request.url)
    out = " ".join(shlex.quote(p) for p in parts)
    # Leave $TOKEN expandable.
    out = out.replace("'Authorization: Bearer $TOKEN'", '"Authorization: Bearer $TOKEN"')
    return prefix + out


def _body_excerpt(request: Any, limit: int = 300) -> str:
    body = request.body
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "backslashreplace")
    return body[:limit]


def _record(kind: str, case: Any, request: Any, response: Any | None) -> None:
    out = _out_dir()
    if not out:
        return
    entry: dict[str, Any] = {
        "kind": kind,
        "identity": os.environ.get("VSYS_FUZZ_IDENTITY", ""),
        "operation": case.operation.label,
        "phase": _phase(case),
        "method": request.method,
        "url": request.url,
        "request_content_type": request.headers.get("Content-Type", ""),
        "request_body": _body_excerpt(request),
        "curl": _curl(request),
    }
    if response is not None:
        entry["status"] = response.status_code
        entry["content_type"] = (response.headers.get("content-type") or [""])[0]
        entry["body"] = response.content[:400].decode("utf-8", "backslashreplace")
    line = json.dumps(entry, ensure_ascii=False)
    with _LOCK:
        with open(os.path.join(out, "findings.jsonl"), "a", encoding="utf-8") as f:
            f.write(line + "\n")


def _phase(case: Any) -> str:
    try:
        return case.meta.phase.name.value  # type: ignore[union-attr]
    except Exception:
        try:
            return str(case.meta.phase.name)  # type: ignore[union-attr]
        except Exception:
            return ""


# --------------------------------------------------------------------------------------------
# Checks


@schemathesis.check
def problem_json_for_4xx(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx response is an RFC 9457 problem document (Content-Type application/problem+json)."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.split(";")[0].strip().lower() == PROBLEM_JSON:
        return None
    _record("4xx-not-problem-json", case, response.request, response)
    # The message has no body in it, so schemathesis de-duplicates by (operation, status, type).
    raise AssertionError(
        f"{response.status_code} answered with Content-Type {content_type or '(none)'!r}, "
        f"expected {PROBLEM_JSON!r}"
    )


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if response.status_code >= 500:
        _record("5xx", case, response.request, response)


@schemathesis.hook
def after_network_error(context: Any, case: Any, request: Any) -> None:
    _record("network-error", case, request, None)


# --------------------------------------------------------------------------------------------
# Schema repair: `in: path` parameters that are not in the path template are query parameters.

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def repair_schema(raw: dict[str, Any]) -> list[str]:
    repairs: list[str] = []
    for path, item in (raw.get("paths") or {}).items():
        in_template = set(re.findall(r"\{([^}/]+)\}", path))
        for method, op in item.items():
            if method not in _METHODS or not isinstance(op, dict):
                continue
            for param in op.get("parameters") or []:
                if not isinstance(param, dict) or param.get("in") != "path":
                    continue
                if param.get("name") in in_template:
                    continue
                param["in"] = "query"
                schema = param.get("schema") or {}
                types = schema.get("type")
                # `Option<T>` comes out as type [T, "null"] and required: a query parameter
                # that may be null is one that may be left out.
                if isinstance(types, list) and "null" in types:
                    rest = [t for t in types if t != "null"]
                    schema["type"] = rest[0] if len(rest) == 1 else rest
                    param["required"] = False
                repairs.append(
                    f"{method.upper()} {path}: parameter {param.get('name')!r} declared in: path, "
                    f"not in the template -> in: query, required: {param.get('required')}"
                )
    return repairs


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    if os.environ.get("VSYS_FUZZ_REPAIR_SCHEMA", "1") == "0":
        return
    repairs = repair_schema(raw_schema)
    out = _out_dir()
    if out and repairs:
        with _LOCK, open(os.path.join(out, "schema-repairs.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(repairs) + "\n")


# --------------------------------------------------------------------------------------------
# Known identifiers (seeds) mixed into generated path and query parameters.

_SEEDS: dict[str, Any] | None = None


def _seeds() -> dict[str, Any]:
    global _SEEDS
    if _SEEDS is None:
        path = os.environ.get("VSYS_FUZZ_SEEDS")
        try:
            with open(path or "", encoding="utf-8") as f:
                _SEEDS = json.load(f)
        except (OSError, ValueError):
            _SEEDS = {}
    return _SEEDS


def _seed_values(path: str, location: str, name: str) -> list[Any]:
    """Known values for parameter `name` of the operation at `path` (rules in `harvest`)."""
    seeds = _seeds()
    if not seeds:
        return []
    for rule in seeds.get(location, []):
        if rule["name"] == name and re.search(rule["path"], path):
            return rule["values"]
    return []


def _mixed(strategy: Any, operation: Any, location: str) -> Any:
    from hypothesis import strategies as st

    if operation is None:
        return strategy
    path = operation.path
    params = operation.path_parameters if location == "path" else operation.query
    names = [p.name for p in params.items]
    known = {n: _seed_values(path, location, n) for n in names}
    known = {n: v for n, v in known.items() if v}
    if not known:
        return strategy

    def substitute(generated: Any) -> Any:
        if not isinstance(generated, dict):
            return st.just(generated)
        return st.fixed_dictionaries(
            {
                k: (st.sampled_from(known[k]) if k in known else st.just(v))
                for k, v in generated.items()
            }
            | {k: st.sampled_from(v) for k, v in known.items() if k not in generated and location == "query"}
        )

    # Known values first: Hypothesis shrinks towards the first branch.
    return st.one_of(strategy.flatmap(substitute), strategy)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    _known_path_parameters(case)
    _supply_if_match(case)


def _known_path_parameters(case: Any) -> None:
    """Coverage-phase cases vary one parameter at a time and fill the other path parameters with
    a placeholder ("0"), which only ever reaches a 404; put a known identifier there instead, so
    that the body and query variations reach the handler. The parameter under test is kept."""
    meta = case.meta
    if meta is None or getattr(meta.phase.name, "value", meta.phase.name) != "coverage":
        return
    data = meta.phase.data
    under_test = getattr(data, "parameter", None)
    location = getattr(getattr(data, "parameter_location", None), "value", None)
    for name in list(case.path_parameters or {}):
        if name == under_test and location == "path":
            continue
        values = _seed_values(case.operation.path, "path", name)
        if values:
            case.path_parameters[name] = values[0]


_NO_ETAG: set[str] = set()  # paths that gave no ETag (versions change, so ETags are not cached)


def _declares_if_match(case: Any) -> bool:
    params = (case.operation.definition.raw or {}).get("parameters") or []
    return any(isinstance(p, dict) and p.get("in") == "header" and str(p.get("name", "")).lower() == "if-match"
               for p in params)


def _supply_if_match(case: Any) -> None:
    """Updates guarded by `If-Match` get the resource's current ETag, read from a GET of the same
    path or of its parent (`/x/{id}/lines` -> `/x/{id}`), so that their bodies reach the
    handler instead of stopping at 412 (a generated ETag is almost never current) or 428.
    Left alone: the coverage phase's cases about `If-Match` itself (missing, malformed) and the
    "missing Authorization" probes. Without a readable ETag (a made-up identifier) the request
    goes as generated. VSYS_FUZZ_IF_MATCH=0 turns this off."""
    if os.environ.get("VSYS_FUZZ_IF_MATCH", "1") == "0":
        return
    if case.method.upper() not in ("PUT", "PATCH", "POST"):
        return
    meta = case.meta
    data = getattr(getattr(meta, "phase", None), "data", None)
    if getattr(getattr(data, "scenario", None), "value", None) == "missing_parameter":
        return  # leave the "missing Authorization" probes as they are
    if str(getattr(data, "parameter", "") or "").lower() == "if-match":
        return  # the case is about If-Match itself
    declared = _declares_if_match(case)
    responses = (case.operation.definition.raw or {}).get("responses") or {}
    if not declared and "428" not in responses and "412" not in responses:
        return
    headers = case.headers if case.headers is not None else {}
    present = [k for k in headers if k.lower() == "if-match"]
    if present and not declared:
        return
    base = os.environ.get("VSYS_FUZZ_BASE_URL")
    token = os.environ.get("VSYS_FUZZ_TOKEN")
    if not base or not token:
        return
    try:
        path = case.formatted_path
    except Exception:
        return
    etag = None
    candidates = [path, path.rsplit("/", 1)[0], path.rsplit("/", 2)[0]]
    for candidate in candidates:
        if candidate.count("/") < 3:
            break
        if candidate in _NO_ETAG:
            continue
        etag = _fetch_etag(base, token, candidate)
        if etag:
            break
        if len(_NO_ETAG) < 10000:
            _NO_ETAG.add(candidate)
    if etag:
        for k in present:
            del headers[k]
        headers["If-Match"] = etag
        case.headers = headers


def _fetch_etag(base: str, token: str, path: str) -> str | None:
    import requests

    try:
        r = requests.get(base.rstrip("/") + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    except Exception:
        return None
    return r.headers.get("ETag") if r.status_code == 200 else None


@schemathesis.hook
def before_generate_path_parameters(context: Any, strategy: Any) -> Any:
    return _mixed(strategy, context.operation, "path")


@schemathesis.hook
def before_generate_query(context: Any, strategy: Any) -> Any:
    return _mixed(strategy, context.operation, "query")


# --------------------------------------------------------------------------------------------
# Helpers run as a program by scripts/fuzz-api.


def _http(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def cmd_login(base: str, email: str, password: str, totp: str = "") -> int:
    body: dict[str, Any] = {"email": email, "password": password}
    if totp:
        body["totp"] = totp
    status, out = _http(base, "POST", "/api/v1/session", body=body)
    if status != 201 or not isinstance(out, dict) or "token" not in out:
        print(f"login {email}: {status} {out}", file=sys.stderr)
        return 1
    token = out["token"]
    status, me = _http(base, "GET", "/api/v1/me", token)
    if status != 200 or not isinstance(me, dict):
        print(f"GET /api/v1/me as {email}: {status} {me}", file=sys.stderr)
        return 1
    if me.get("must_change_password"):
        # Change to a new password; that ends this session, so log in again with it.
        new = password + "-fuzz-1"
        status, out = _http(
            base, "POST", "/api/v1/me/password", token, {"current_password": password, "new_password": new}
        )
        if status != 204:
            print(f"{email} must change its password and the change failed: {status} {out}", file=sys.stderr)
            return 1
        return cmd_login(base, email, new)
    print(json.dumps({"token": token, "user_id": me.get("user_id"), "org_code": me.get("org_code"),
                      "role": me.get("role"), "email": email}))
    return 0


def _items(base: str, token: str, path: str) -> list[dict[str, Any]]:
    try:
        status, out = _http(base, "GET", path, token)
    except Exception:
        return []
    if status != 200:
        return []
    if isinstance(out, dict):
        out = out.get("items", out.get("entries", []))
    return [x for x in out if isinstance(x, dict)] if isinstance(out, list) else []


def cmd_harvest(base: str, token: str, protected: str, out_path: str) -> int:
    """Collects identifiers this identity can see and writes the seed rules to `out_path`.

    Users in `protected` (the harness's own identities) are left out, so that no fuzzed
    PATCH/password reset/TOTP reset can end the sessions the harness runs on.
    """
    import datetime

    protected_ids = {p for p in protected.split(",") if p}
    _, me = _http(base, "GET", "/api/v1/me", token)
    own_org = me.get("org_code", "") if isinstance(me, dict) else ""
    ids = lambda rows, key="id": sorted({str(r[key]) for r in rows if r.get(key) is not None})[:20]  # noqa: E731

    cycles = _items(base, token, "/api/v1/cycles?per_page=20")
    orgs = _items(base, token, "/api/v1/orgs?per_page=100")
    # The first value of each list is the one the coverage phase uses (see before_call): the
    # identity's own organisation, then the demo world's organisations, then whatever it can see.
    def first(*groups: Any) -> list[str]:
        out: list[str] = []
        for group in groups:
            for v in group:
                if v and v not in out:
                    out.append(v)
        return out[:30]

    known_orgs = ["JP", "13", "13103", "1310000002", "9131030001", "M001", "W13001", "D001", "N001"]
    org_codes = first([own_org], known_orgs, ids(orgs, "code"))
    munis = first(["13103"], [o["code"] for o in orgs if o.get("kind") == "municipality"])
    deliverers = first(["W13001", "M001", "N001"], [o["code"] for o in orgs if o.get("kind") in (
        "wholesaler", "manufacturer", "syringe_warehouse")])
    own_site = [own_org] if own_org and len(own_org) == 10 and own_org.isdigit() else []
    sites = first(own_site, ["1310000002", "9131030001"],
                  ids(_items(base, token, "/api/v1/sites?municipality=13103&per_page=20"), "code"),
                  ids(_items(base, token, "/api/v1/sites?per_page=20"), "code"))
    products = ids(_items(base, token, "/api/v1/products"))
    deliveries = ids(_items(base, token, "/api/v1/deliveries?per_page=20"))
    notices = ids(_items(base, token, "/api/v1/notices?per_page=20"))
    periods = ids(_items(base, token, "/api/v1/reporting-periods"))
    users = [u for u in ids(_items(base, token, "/api/v1/users?per_page=100")) if u not in protected_ids]
    tokens = ids(_items(base, token, f"/api/v1/orgs/{own_org}/api-tokens")) if own_org else []
    doctors: list[str] = []
    entries: list[str] = []
    for site in sites[:4]:
        doctors += ids(_items(base, token, f"/api/v1/sites/{site}/doctors"))
        _, stock = _http(base, "GET", f"/api/v1/sites/{site}/stock", token)
        if isinstance(stock, dict):
            for key in ("entries", "ledger", "lines"):
                if isinstance(stock.get(key), list):
                    entries += ids([e for e in stock[key] if isinstance(e, dict)])
    today = datetime.date.today()
    days = [str(today), str(today - datetime.timedelta(days=1))] + sorted(
        {str(c["period_start"]) for c in cycles if c.get("period_start")}
    )

    def rule(path: str, name: str, values: list[Any]) -> dict[str, Any]:
        return {"path": path, "name": name, "values": values}

    path_rules = [
        rule(r"^/api/v1/cycles/\{id\}", "id", ids(cycles)),
        rule(r"^/api/v1/cycles/", "org", org_codes),
        rule(r"^/api/v1/deliveries/\{id\}", "id", deliveries),
        rule(r"^/api/v1/municipalities/", "code", munis),
        rule(r"^/api/v1/notices/", "id", notices),
        rule(r"^/api/v1/orgs/\{code\}/api-tokens/\{id\}", "id", tokens),
        rule(r"^/api/v1/orgs/\{code\}/deliverer-info", "code", first([own_org] if own_org in deliverers else [],
                                                                      deliverers)),
        rule(r"^/api/v1/orgs/", "code", org_codes),
        rule(r"^/api/v1/products/", "id", products),
        rule(r"^/api/v1/reporting-periods/", "id", periods),
        rule(r"^/api/v1/sites/\{code\}/doctors/\{id\}", "id", doctors),
        rule(r"^/api/v1/sites/\{code\}/stock/entries/\{id\}", "id", entries),
        rule(r"^/api/v1/sites/", "code", sites),
        rule(r"^/api/v1/sites/", "day", days),
        rule(r"^/api/v1/users/", "id", users),
    ]
    query_rules = [
        rule(r"^/api/v1/deliveries", "cycle", ids(cycles)),
        rule(r"^/api/v1/deliveries", "municipality", munis),
        rule(r"^/api/v1/deliveries", "deliverer", deliverers),
        rule(r"^/api/v1/public/sites", "municipality", munis),
        rule(r"^/api/v1/sites$", "municipality", munis),
        rule(r"^/api/v1/orgs$", "parent", org_codes),
        rule(r"^/api/v1/users$", "org", org_codes),
        rule(r"^/api/v1/audit$", "object_id", ids(cycles) + users[:3]),
    ]
    seeds = {
        "path": [r for r in path_rules if r["values"]],
        "query": [r for r in query_rules if r["values"]],
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(seeds, f, ensure_ascii=False, indent=1)
    counts = ", ".join(f"{r['name']}@{r['path']}={len(r['values'])}" for r in seeds["path"])
    print(f"seeds: {counts}", file=sys.stderr)
    return 0


def _normalise(text: str) -> str:
    text = re.sub(r"`[^`]*`", "`…`", text)
    text = re.sub(r"\"[^\"]*\"", '"…"', text)
    text = re.sub(r"\d+", "#", text)
    return re.sub(r"\s+", " ", text).strip()


def _body_kind(body: str) -> str:
    """A coarse class of a response body: the text before its first colon (framework rejections
    read "Failed to deserialize the JSON body into the target type: field: reason"), else its
    start, with values, quotes and numbers blanked."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and ("title" in doc or "type" in doc):
        return _normalise(f"{doc.get('type', '')} {doc.get('title', '')}")[:100]
    text = _normalise(body)
    if not text:
        return "<empty body>"
    head = text.split(":", 1)[0]
    return (head if len(head) <= 80 else text[:80]).strip()


def _panics(server_log: str) -> dict[str, int]:
    """Panics in the server log: location and message -> the first project frames."""
    if not server_log or not os.path.exists(server_log):
        return {}
    with open(server_log, encoding="utf-8", errors="replace") as f:
        text = re.sub(r"\x1b\[[0-9;]*m", "", f.read())
    out: dict[str, int] = {}
    blocks = re.split(r"\n(?=thread '[^']*' (?:\(\d+\) )?panicked at )", text)
    for block in blocks:
        m = re.search(r"panicked at ([^\n]+?):\n([^\n]*)", block)
        if not m:
            continue
        frames = re.findall(r"at \./(crates/[^\n]+)", block)[:4]
        key = f"{m.group(1)}: {m.group(2).strip()[:160]}"
        if frames:
            key += " <- " + " <- ".join(frames[:2])
        out[key] = out.get(key, 0) + 1
    return out


def _logged_errors(server_log: str) -> dict[str, int]:
    """`ERROR vsys_…: message` lines of the server log, numbers blanked."""
    if not server_log or not os.path.exists(server_log):
        return {}
    out: dict[str, int] = {}
    with open(server_log, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            m = re.search(r" ERROR (vsys_[\w:]+): (.*)", line)
            if m:
                key = f"{m.group(1)}: {re.sub(r'[0-9]+', '#', m.group(2).strip())[:220]}"
                out[key] = out.get(key, 0) + 1
    return out


def cmd_summarise(out_dir: str, server_log: str = "") -> int:
    """Prints the findings de-duplicated: class -> (status, type, body kind) -> operations."""
    findings: list[dict[str, Any]] = []
    path = os.path.join(out_dir, "findings.jsonl")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            findings = [json.loads(line) for line in f if line.strip()]
    classes = [
        ("network-error", "Dropped connections / network errors"),
        ("5xx", "5xx responses"),
        ("4xx-not-problem-json", "4xx responses that are not application/problem+json"),
    ]
    lines: list[str] = []
    details: list[str] = []
    for kind, title in classes:
        rows = [r for r in findings if r["kind"] == kind]
        # group -> operation -> fine-grained variant -> first example
        groups: dict[tuple[str, ...], dict[str, dict[str, dict[str, Any]]]] = {}
        for r in rows:
            if kind == "network-error":
                key: tuple[str, ...] = ("connection dropped, refused or timed out",)
                variant = _normalise(re.sub(r"^https?://[^/]+", "", r["url"]))
            else:
                ct = (r.get("content_type") or "(no Content-Type)").split(";")[0]
                key = (str(r["status"]), ct, _body_kind(r.get("body") or ""))
                variant = _normalise(r.get("body") or "")[:200]
            variants = groups.setdefault(key, {}).setdefault(r["operation"], {})
            # Keep the shortest reproduction of each variant (shrunk cases come later).
            if variant not in variants or len(r["curl"]) < len(variants[variant]["curl"]):
                variants[variant] = r
        n_ops = len({r["operation"] for r in rows})
        lines.append(f"== {title}: {len(groups)} distinct, on {n_ops} operations ==")
        details.append(f"==== {title} ====")
        for key, ops in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(f"  [{' | '.join(key)}] on {len(ops)} operation(s):")
            shown = sorted(ops)
            lines.append("      " + ", ".join(shown[:8]) + (f", … and {len(shown) - 8} more" if len(shown) > 8 else ""))
            details.append(f"--- {' | '.join(key)}")
            for op in shown:
                details.append(f"  {op}")
                for variant, r in list(ops[op].items())[:3]:
                    details.append(f"    (as {r['identity']}, phase {r['phase']}) {r['curl']}")
                    if "body" in r:
                        details.append(f"      -> {r['status']} {r.get('content_type') or '(no Content-Type)'}: "
                                       f"{r['body'][:240]!r}")
                if len(ops[op]) > 3:
                    details.append(f"    … {len(ops[op]) - 3} more variants")
    panics = _panics(server_log)
    lines.append(f"== Panics in the server log: {len(panics)} distinct ==")
    for where, n in sorted(panics.items()):
        lines.append(f"  {n}x {where}")
    errors = _logged_errors(server_log)
    lines.append(f"== Errors logged by the server (causes of the 5xx): {len(errors)} distinct ==")
    for what, n in sorted(errors.items()):
        lines.append(f"  {n}x {what}")
    summary = "\n".join(lines)
    print(summary)
    with open(os.path.join(out_dir, "summary.txt"), "w", encoding="utf-8") as f:
        f.write(summary + "\n")
    with open(os.path.join(out_dir, "findings.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(details) + "\n")
    return 1 if findings or panics else 0


if __name__ == "__main__":
    commands = {"login": cmd_login, "harvest": cmd_harvest, "summarise": cmd_summarise}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
