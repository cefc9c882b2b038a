//! File downloads.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use vsys_app::csv_files::Encoding;

/// A CSV file as an attachment, with its charset (Shift_JIS for Excel, or UTF-8).
pub fn csv(bytes: impl IntoResponse, filename: &str, encoding: Encoding) -> Response {
    let charset = if encoding == Encoding::ShiftJis {
        "Shift_JIS"
    } else {
        "utf-8"
    };
    (
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={charset}")),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
