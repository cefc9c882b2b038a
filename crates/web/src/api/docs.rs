//! What every operation of the document says about failures, added in one place so that no
//! operation forgets one: [`Responses`] walks the document after the operations are
//! registered and adds the problem responses that the extractors, the layers and the session
//! check can give (RFC 9457, `application/problem+json`, schema `Problem`), fills in missing
//! descriptions and turns every error response declared by a handler into a problem document.
//! Handlers declare only what is their own (404 of a query parameter, 409 of a state, 422 of a
//! rule), the `If-Match` header ([`IfMatch`], [`IfMatchOptional`]) and the `ETag` they return.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{self, Ref, RefOr, Required};

/// The media type of every error of the API.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `If-Match` of an update that requires it (428 without, 412 when stale).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IfMatch {
    /// The `ETag` this update is based on, e.g. `"v3"` (as returned by the read).
    #[param(rename = "If-Match", pattern = r#"^\s*(W/)?"?v-?[0-9]+"?\s*$"#)]
    if_match: String,
}

/// `If-Match` of an update that also creates: without it the resource must be new.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IfMatchOptional {
    /// The `ETag` this change is based on (`"v3"`); leave it out to create.
    #[param(rename = "If-Match", pattern = r#"^\s*(W/)?"?v-?[0-9]+"?\s*$"#)]
    if_match: Option<String>,
}

/// Adds the common problem responses and descriptions to every operation.
pub struct Responses;

impl utoipa::Modify for Responses {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                complete(op);
            }
        }
    }
}

/// The description of a problem response with this status, when the handler gave none.
fn problem_description(status: &str) -> &'static str {
    match status {
        "400" => {
            "Bad request: a parameter, the body or `If-Match` is malformed (`/problems/bad-parameter` names the parameter; `/problems/malformed-json`, `/problems/bad-request`)."
        }
        "401" => {
            "Not logged in, or the session expired (`/problems/not-logged-in`, `/problems/session-expired`)."
        }
        "403" => {
            "Forbidden: beyond the caller's role, or a password change comes first (`/problems/forbidden`, `/problems/password-change-required`)."
        }
        "404" => {
            "Not found, or not visible to the caller: other organisations' objects answer 404 (`/problems/not-found`)."
        }
        "409" => "Wrong state for this action; the title says why (`/problems/wrong-state`).",
        "412" => {
            "Someone else changed it since it was read (`/problems/conflict`): read it again (new `ETag`) and retry."
        }
        "413" => "The request body is too large (`/problems/body-too-large`).",
        "414" => "The request target (path and query) is over 8 KiB (`/problems/uri-too-long`).",
        "415" => "The body is not `application/json` (`/problems/unsupported-media-type`).",
        "422" => {
            "Refused: `errors` names each field (or CSV row) and why (`/problems/validation`, `/problems/csv`)."
        }
        "428" => "`If-Match` is required (`/problems/precondition-required`).",
        "429" => {
            "Too many requests of this client at once (`/problems/too-many-requests`), too many in a short time on the public routes (`/problems/rate-limited`), or too many login attempts (`/problems/login-throttled`): wait `Retry-After` seconds."
        }
        "500" => "Internal error; details go to the server's log only (`/problems/internal`).",
        "503" => {
            "Busy (`/problems/busy`: the server or its database is at capacity; nothing was done) or unavailable (`/problems/unavailable`): wait `Retry-After` seconds and retry."
        }
        _ => "A problem document.",
    }
}

/// The description of a success response, when the handler gave none.
fn success_description(status: &str) -> &'static str {
    match status {
        "201" => "Created.",
        "204" => "Done; no content.",
        _ => "OK.",
    }
}

fn problem_content() -> RefOr<openapi::content::Content> {
    RefOr::T(
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

/// A problem response; its content is set below, like every error response's.
fn problem(status: &str) -> RefOr<Response> {
    let mut r = ResponseBuilder::new().description(problem_description(status));
    if matches!(status, "429" | "503") {
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    openapi::ObjectBuilder::new().schema_type(openapi::Type::Integer),
                ))
                .description(Some("Seconds to wait before retrying."))
                .build(),
        );
    }
    RefOr::T(r.build())
}

/// A CSV file is bytes (UTF-8 or Shift_JIS), not text in a known encoding.
fn csv_as_bytes<M>(content: &mut M)
where
    for<'a> &'a mut M: IntoIterator<Item = (&'a String, &'a mut RefOr<openapi::content::Content>)>,
{
    for (media_type, c) in content {
        if let RefOr::T(c) = c
            && media_type.starts_with("text/csv")
        {
            c.schema = Some(RefOr::T(openapi::Schema::Object(
                openapi::ObjectBuilder::new()
                    .schema_type(openapi::Type::String)
                    .format(Some(openapi::SchemaFormat::Custom("binary".into())))
                    .content_media_type("text/csv")
                    .build(),
            )));
        }
    }
}

/// Whether an operation is public (`security: [{}]`).
fn is_public(op: &Operation) -> bool {
    serde_json::to_value(&op.security).ok() == Some(serde_json::json!([{}]))
}

fn complete(op: &mut Operation) {
    let params: Vec<&openapi::path::Parameter> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let if_match = params
        .iter()
        .find(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("if-match"))
        .map(|p| p.required == Required::True);
    let body_types: Vec<String> = match &op.request_body {
        Some(RefOr::T(b)) => b.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let has_body = !body_types.is_empty();
    let json_body = body_types.iter().any(|t| t.ends_with("json"));
    let public = is_public(op);

    let mut wanted: Vec<&str> = Vec::new();
    if has_path || has_query || has_body || if_match.is_some() {
        wanted.push("400");
    }
    if !public {
        wanted.extend(["401", "403"]);
    }
    if has_path {
        wanted.push("404");
    }
    if let Some(required) = if_match {
        wanted.push("412");
        if required {
            wanted.push("428");
        }
    }
    if has_body {
        wanted.push("413");
    }
    if json_body {
        wanted.extend(["415", "422"]);
    }
    // Load shedding (`web::overload`) may answer any operation 429 or 503.
    wanted.extend(["414", "429", "500", "503"]);
    for status in wanted {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(status));
    }

    if let Some(RefOr::T(body)) = &mut op.request_body {
        csv_as_bytes(&mut body.content);
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(r) = response else { continue };
        csv_as_bytes(&mut r.content);
        let is_error = status.starts_with('4') || status.starts_with('5');
        if r.description.trim().is_empty() {
            r.description = if is_error {
                problem_description(status)
            } else {
                success_description(status)
            }
            .to_owned();
        }
        if is_error {
            // Whatever a handler wrote (`body = Problem` comes out as application/json), an
            // error is a problem document.
            r.content.clear();
            r.content.insert(PROBLEM_JSON.to_owned(), problem_content());
        }
        for (name, header) in r.headers.iter_mut() {
            if let RefOr::T(h) = header
                && h.description.is_none()
                && name.eq_ignore_ascii_case("etag")
            {
                *h = HeaderBuilder::new()
                    .schema(h.schema.clone())
                    .description(Some(
                        "The version of the resource returned (`\"v3\"`): send it back as `If-Match` to change it.",
                    ))
                    .build();
            }
        }
    }
}

/// Tuples (`[day, count]`, `[cap, value]`) come out of utoipa as `prefixItems` with
/// `items: false`, which client generators (openapi-python-client) cannot read, and
/// `prefixItems` alone trips schemathesis' response validation. Each becomes an array of exactly
/// as many items as the tuple has, every item one of the tuple's schemas; the field's
/// description names the order.
pub fn tuples_as_arrays(doc: openapi::OpenApi) -> openapi::OpenApi {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if map.get("items") == Some(&serde_json::Value::Bool(false))
                    && let Some(serde_json::Value::Array(prefix)) = map.remove("prefixItems")
                {
                    let n = prefix.len();
                    let mut kinds: Vec<serde_json::Value> = Vec::new();
                    for p in prefix {
                        if !kinds.contains(&p) {
                            kinds.push(p);
                        }
                    }
                    let items = if kinds.len() == 1 {
                        kinds.remove(0)
                    } else {
                        serde_json::json!({ "oneOf": kinds })
                    };
                    map.insert("items".into(), items);
                    map.insert("minItems".into(), n.into());
                    map.insert("maxItems".into(), n.into());
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&doc) else {
        return doc;
    };
    walk(&mut value);
    serde_json::from_value(value).unwrap_or(doc)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn doc() -> Value {
        serde_json::to_value(super::super::openapi()).unwrap_or_default()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
            for (method, op) in item.as_object().cloned().unwrap_or_default() {
                out.push((method, path.clone(), op));
            }
        }
        out
    }

    /// Every schema in `v` (recursively) that says nothing about its shape: `{}` or a bare
    /// `{"type": "object"}` (what `Object` and `serde_json::Value` come out as).
    fn untyped(v: &Value, at: &str, found: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for key in ["schema", "items", "additionalProperties"] {
                    if let Some(s) = map.get(key)
                        && (s == &serde_json::json!({})
                            || s == &serde_json::json!({"type": "object"}))
                    {
                        found.push(format!("{at}/{key}"));
                    }
                }
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, s) in props {
                        if s == &serde_json::json!({})
                            || s == &serde_json::json!({"type": "object"})
                        {
                            found.push(format!("{at}/properties/{name}"));
                        }
                    }
                }
                for (k, child) in map {
                    untyped(child, &format!("{at}/{k}"), found);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    untyped(child, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }

    /// The document lists the very codes the server sends and stores.
    #[test]
    fn enums_list_the_codes() {
        let doc = doc();
        let listed = |name: &str| doc["components"]["schemas"][name]["enum"].clone();
        let codes = |all: Vec<&str>| serde_json::json!(all);
        use vsys_domain::*;
        assert_eq!(
            listed("OrgKind"),
            codes(OrgKind::ALL.map(OrgKind::as_str).to_vec())
        );
        assert_eq!(
            listed("Status"),
            codes(Status::ALL.map(Status::as_str).to_vec())
        );
        assert_eq!(
            listed("Reservation"),
            codes(Reservation::ALL.map(Reservation::as_str).to_vec())
        );
        assert_eq!(
            listed("ProductKind"),
            codes(ProductKind::ALL.map(ProductKind::as_str).to_vec())
        );
    }

    #[test]
    fn tuples_are_arrays_of_their_items() {
        let doc = doc();
        let cap = &doc["components"]["schemas"]["Explanation"]["properties"]["cap"];
        assert_eq!(cap["minItems"], 2, "{cap}");
        assert!(cap["items"]["oneOf"].is_array(), "{cap}");
        assert!(!doc.to_string().contains(r#""items":false"#));
        assert!(!doc.to_string().contains("prefixItems"));
    }

    #[test]
    fn every_body_has_a_schema_with_a_shape() {
        let mut found = Vec::new();
        untyped(&doc(), "", &mut found);
        assert!(found.is_empty(), "untyped schemas: {found:#?}");
    }

    #[test]
    fn operations_are_named_once_and_described() {
        let doc = doc();
        let mut ids = BTreeSet::new();
        for (method, path, op) in operations(&doc) {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(!id.is_empty(), "{method} {path}: no operationId");
            assert!(
                ids.insert(id.clone()),
                "{method} {path}: duplicate operationId {id}"
            );
            assert!(
                !op["summary"].as_str().unwrap_or_default().is_empty(),
                "{method} {path}: no summary"
            );
            for (status, r) in op["responses"].as_object().cloned().unwrap_or_default() {
                assert!(
                    !r["description"].as_str().unwrap_or_default().is_empty(),
                    "{method} {path} {status}: no description"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    let content = r["content"].as_object().cloned().unwrap_or_default();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        vec![super::PROBLEM_JSON],
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn failures_are_documented_where_they_happen() {
        let doc = doc();
        for (method, path, op) in operations(&doc) {
            let has = |s: &str| op["responses"].get(s).is_some();
            let public = op["security"] == serde_json::json!([{}]);
            assert_eq!(
                has("401"),
                !public || path == "/api/v1/session",
                "{method} {path}: 401"
            );
            let if_match = op["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .find(|p| p["in"] == "header" && p["name"] == "If-Match");
            if let Some(p) = if_match {
                assert!(has("412"), "{method} {path}: If-Match without 412");
                assert_eq!(has("428"), p["required"] == true, "{method} {path}: 428");
            }
            if op.get("requestBody").is_some() {
                assert!(has("413"), "{method} {path}: a body without 413");
            }
        }
        assert!(
            doc["paths"]["/api/v1/session"]["post"]["responses"]
                .get("429")
                .is_some()
        );
    }
}
