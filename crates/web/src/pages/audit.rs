//! The audit log (nation administrators): searched by partition, action, object and days, and
//! downloaded as CSV.

use super::form::day;
use super::{Chrome, Pager};
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::ScreenQuery as Query;
use crate::i18n::{Ui, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use vsys_app::AppError;
use vsys_app::csv_files::{self, Encoding};
use vsys_app::rows::{AuditFilter, AuditRow};

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    pub partition: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub object_id: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
    pub page: Option<u64>,
}

fn jst_midnight(d: &str) -> Option<chrono::DateTime<Utc>> {
    let date = day(d)?;
    let offset = chrono::FixedOffset::east_opt(9 * 3600)?;
    offset
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        AuditFilter {
            partition: some(&self.partition),
            action_prefix: some(&self.action),
            object_id: some(&self.object_id),
            from: jst_midnight(&self.from),
            until: jst_midnight(&self.until).map(|t| t + chrono::Duration::days(1)),
            ..Default::default()
        }
    }
    fn query_string(&self) -> String {
        format!(
            "partition={}&action={}&object_id={}&from={}&until={}",
            urlencoding::encode(&self.partition),
            urlencoding::encode(&self.action),
            urlencoding::encode(&self.object_id),
            urlencoding::encode(&self.from),
            urlencoding::encode(&self.until)
        )
    }
}

pub struct AuditLine {
    pub when: String,
    /// The actor's name (their id if the account is gone), or `system`.
    pub who: String,
    pub who_id: String,
    pub org: String,
    pub ip: String,
    pub action: String,
    pub object: String,
    pub details: String,
}

fn audit_line(e: &AuditRow, names: &HashMap<String, String>) -> AuditLine {
    let details = match (&e.before, &e.after) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (None, Some(a)) => a.clone(),
        (Some(b), None) => b.clone(),
        (None, None) => String::new(),
    };
    AuditLine {
        when: jst(&e.at),
        who: match &e.actor_user {
            Some(id) => names.get(id).cloned().unwrap_or_else(|| id.clone()),
            None => "system".into(),
        },
        who_id: e.actor_user.clone().unwrap_or_default(),
        org: e.actor_org.clone().unwrap_or_default(),
        ip: e.ip.clone().unwrap_or_default(),
        action: e.action.clone(),
        object: format!("{}:{}", e.object_type, e.object_id),
        details: details.chars().take(300).collect(),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub c: Chrome,
    pub f: AuditQuery,
    pub query: String,
    pub entries: Vec<AuditLine>,
    pub pager: Pager,
}

pub async fn audit(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let page = vsys_app::page_of(q.page, None, 100).map_err(|e| PageError(e, u.lang))?;
    let (rows, total) = vsys_app::audit::search(&s.app, &u.actor, &q.filter(), page)
        .await
        .map_err(|e| PageError(e, lang))?;
    let names = vsys_app::audit::actor_names(&s.app, &u.actor, &rows)
        .await
        .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Audit.text(lang), "/audit").await;
    let query = q.query_string();
    Ok(render(&AuditPage {
        c,
        pager: Pager::new(page.page, page.per_page, total, format!("/audit?{query}&")),
        query,
        entries: rows.iter().map(|e| audit_line(e, &names)).collect(),
        f: q,
    }))
}

/// The audit log as CSV (UTF-8 with BOM, so Excel opens it correctly).
pub async fn audit_csv(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let rows = vsys_app::audit::export(&s.app, &u.actor, &q.filter(), 100_000)
        .await
        .map_err(|e| PageError(e, lang))?;
    let header = [
        "id",
        "partition",
        "seq",
        "at",
        "actor_user",
        "actor_org",
        "ip",
        "action",
        "object_type",
        "object_id",
        "before",
        "after",
        "hash",
    ];
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|e| {
            let at = vsys_domain::audit::canonical_time(e.at);
            vec![
                e.id,
                e.partition,
                e.seq.to_string(),
                at,
                e.actor_user.unwrap_or_default(),
                e.actor_org.unwrap_or_default(),
                e.ip.unwrap_or_default(),
                e.action,
                e.object_type,
                e.object_id,
                e.before.unwrap_or_default(),
                e.after.unwrap_or_default(),
                e.hash,
            ]
        })
        .collect();
    let bytes = csv_files::write(&header, &cells, Encoding::Utf8)
        .map_err(|e| PageError(AppError::Internal(anyhow::anyhow!("{e}")), lang))?;
    Ok(crate::download::csv(
        bytes,
        "vsys-audit.csv",
        Encoding::Utf8,
    ))
}
