//! Static files, embedded in the binary (nothing is fetched from a CDN).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/app.js"),
    ),
    (
        "public.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/public.css"),
    ),
    (
        "finder.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/finder.js"),
    ),
    (
        "vendor/htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/vendor/htmx.min.js"),
    ),
    (
        "vendor/design-tokens.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/vendor/design-tokens.css"),
    ),
    (
        "vendor/htmx.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../static/vendor/htmx.LICENSE"),
    ),
    (
        "vendor/design-tokens.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../static/vendor/design-tokens.LICENSE"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
