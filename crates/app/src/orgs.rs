//! Organisations: reading them within one's scope (and the shared master data), and creating
//! subordinate organisations with codes by the conventions.

use crate::App;
use crate::audit::record;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use serde::Deserialize;
use std::sync::Arc;
use vsys_domain::org::child_path;
use vsys_domain::{Action, Msg, OrgCode, OrgKind, Role};
use vsys_store::orgs::{OrgFilter, OrgRow};
use vsys_store::{Tx, orgs};

/// Nation, prefectures and municipalities are shared master data, readable by every staff
/// user.
fn readable(actor: &Actor, org: &OrgRow) -> bool {
    org.kind.is_government() || actor.principal.may(Action::Read, &org.path)
}

pub async fn get(app: &App, actor: &Actor, code: &str) -> AppResult<OrgRow> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    match orgs::get(&mut tx, code).await? {
        Some(o) if readable(actor, &o) => Ok(o),
        // Another organisation's data is indistinguishable from data that does not exist.
        _ => Err(AppError::NotFound),
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// Only organisations of this kind.
    #[param(value_type = Option<vsys_domain::OrgKind>)]
    pub kind: Option<String>,
    /// Only children of this organisation (its code).
    pub parent: Option<String>,
    /// Code prefix or part of the name.
    pub q: Option<String>,
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

/// A page of the organisations in the caller's scope (prefectures and municipalities of the
/// whole country when those kinds are asked for), served from the process's read cache while
/// the registry has not changed (see [`crate::read_cache`]).
pub async fn list(app: &App, actor: &Actor, q: &OrgQuery) -> AppResult<ListPage> {
    Ok(list_shared(app, actor, q).await?.as_ref().clone())
}

/// [`list`] as the cache holds it: the same `Arc` while the registry has not changed (for
/// callers that keep what they make of it, such as its JSON).
pub async fn list_shared(app: &App, actor: &Actor, q: &OrgQuery) -> AppResult<Arc<ListPage>> {
    actor.require_password_changed()?;
    let master = q
        .kind
        .as_deref()
        .and_then(OrgKind::parse)
        .is_some_and(OrgKind::is_government);
    let f = OrgFilter {
        scope_path: if master {
            "/".into()
        } else {
            actor.principal.org_path.clone()
        },
        kind: q.kind.clone(),
        kinds: Vec::new(),
        parent_code: q.parent.clone(),
        q: q.q.clone(),
    };
    let page = crate::page(q.page, q.per_page)?;
    app.org_lists
        .through(
            app,
            vsys_store::coordination::REGISTRY,
            (f.clone(), page),
            || async {
                // A page and its count; a write between them also moves the counter, so
                // this value is not served again after it.
                let mut tx = app.db.read_each().await?;
                Ok(orgs::list(&mut tx, &f, page).await?)
            },
        )
        .await
}

/// What a page of an organisation list is cached under: the filter (with the caller's scope)
/// and the page.
pub(crate) type ListKey = (OrgFilter, vsys_domain::validation::Page);
/// A page of organisations and the number of all that match.
pub type ListPage = (Vec<OrgRow>, i64);

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewOrg {
    pub kind: String,
    pub parent_code: String,
    /// Required for medical institutions (their 10-digit code); assigned for other kinds.
    pub code: Option<String>,
    pub name: String,
    pub name_en: Option<String>,
}

/// The next free code for kinds whose codes vsys assigns.
async fn assign_code(tx: &mut Tx, kind: OrgKind, parent: &OrgRow) -> AppResult<OrgCode> {
    let (prefix, width) = match kind {
        OrgKind::Site => (format!("9{}", parent.code), 4),
        OrgKind::Wholesaler => (format!("W{}", parent.code), 3),
        OrgKind::Manufacturer => ("M".into(), 3),
        OrgKind::DryIceMaker => ("D".into(), 3),
        OrgKind::SyringeWarehouse => ("N".into(), 3),
        _ => return Err(AppError::invalid("code", Msg::InvalidOrgCode)),
    };
    let last = orgs::max_code_with_prefix(tx, &prefix, prefix.len() + width).await?;
    let next = last
        .and_then(|c| c[prefix.len()..].parse::<u32>().ok())
        .unwrap_or(0)
        + 1;
    let code = format!("{prefix}{next:0width$}");
    OrgCode::parse(&code).map_err(|m| AppError::invalid("code", m))
}

/// Creates a subordinate organisation under `parent_code` (admins of the parent or above).
pub async fn create(app: &App, actor: &Actor, n: &NewOrg) -> AppResult<OrgRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let kind = OrgKind::parse(n.kind.trim())
        .ok_or_else(|| AppError::invalid("kind", Msg::InvalidInput))?;
    let name = n.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name", Msg::Required));
    }
    let mut tx = app.db.begin().await?;
    let parent = orgs::get(&mut tx, n.parent_code.trim()).await?;
    let parent = match parent {
        Some(p) if actor.principal.may(Action::Write, &p.path) => p,
        Some(p) if actor.principal.may(Action::Read, &p.path) => return Err(AppError::Forbidden),
        _ => return Err(AppError::invalid("parent_code", Msg::UnknownOrg)),
    };
    if actor.role() != Role::Admin {
        return Err(AppError::Forbidden);
    }
    if !kind.parent_kinds().contains(&parent.kind)
        || matches!(kind, OrgKind::Prefecture | OrgKind::Municipality)
    {
        return Err(AppError::invalid("parent_code", Msg::InvalidInput));
    }
    let code = match kind {
        OrgKind::Institution => {
            let c = OrgCode::parse(n.code.as_deref().unwrap_or_default())
                .map_err(|m| AppError::invalid("code", m))?;
            if c.kind() != OrgKind::Institution {
                return Err(AppError::invalid("code", Msg::InvalidOrgCode));
            }
            c
        }
        _ => assign_code(&mut tx, kind, &parent).await?,
    };
    if orgs::get(&mut tx, code.as_str()).await?.is_some() {
        return Err(AppError::invalid("code", Msg::InvalidOrgCode));
    }
    let row = OrgRow {
        code: code.to_string(),
        kind,
        name: name.to_owned(),
        name_en: n
            .name_en
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        parent_code: Some(parent.code.clone()),
        path: child_path(&parent.path, &code),
        prefecture_code: parent
            .prefecture_code
            .clone()
            .or_else(|| (parent.kind == OrgKind::Prefecture).then(|| parent.code.clone())),
        population: None,
        lat: None,
        lng: None,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    orgs::insert_many(&mut tx, std::slice::from_ref(&row)).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "org.create",
        "org",
        &row.code,
        None::<&()>,
        Some(&row),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(row)
}

/// The municipalities an organisation (a wholesaler) serves.
pub async fn areas(app: &App, actor: &Actor, code: &str) -> AppResult<Vec<String>> {
    let org = get(app, actor, code).await?;
    let mut tx = app.db.read().await?;
    Ok(orgs::areas(&mut tx, &org.code).await?)
}

/// Sets the areas a deliverer serves: the municipalities a wholesaler is contracted for (its
/// prefecture's operators; municipalities of that prefecture only), or the prefectures and
/// municipalities a dry-ice maker serves (the nation's operators).
pub async fn set_areas(
    app: &App,
    actor: &Actor,
    code: &str,
    areas: &[String],
) -> AppResult<Vec<String>> {
    let org = get(app, actor, code).await?;
    if !org.kind.serves_areas() {
        return Err(AppError::invalid("areas", Msg::InvalidInput));
    }
    // The organisation above the deliverer decides (the prefecture, or the nation).
    let parent_path = org
        .path
        .trim_end_matches('/')
        .rsplit_once('/')
        .map(|(p, _)| format!("{p}/"))
        .unwrap_or_default();
    actor.require(Action::Write, &parent_path)?;
    if actor.principal.is_own(&org.path) {
        return Err(AppError::Forbidden);
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let mut clean: Vec<String> = areas.iter().map(|a| a.trim().to_owned()).collect();
    clean.sort();
    clean.dedup();
    let mut inv = vsys_domain::Invalid::default();
    for (i, a) in clean.iter().enumerate() {
        let ok = match orgs::get(&mut tx, a).await? {
            Some(o) if org.kind == OrgKind::Wholesaler => {
                o.kind == OrgKind::Municipality && o.path.starts_with(&parent_path)
            }
            Some(o) => matches!(o.kind.as_str(), "prefecture" | "municipality"),
            None => false,
        };
        if !ok {
            let mut e = vsys_domain::FieldError::new("areas", Msg::UnknownOrg);
            e.row = Some(i + 1);
            inv.0.push(e);
        }
    }
    inv.into_result()?;
    let before = orgs::areas(&mut tx, &org.code).await?;
    orgs::set_areas(&mut tx, &org.code, &clean).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "org.areas",
        "org",
        &org.code,
        Some(&before),
        Some(&clean),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(clean)
}

/// The display names of organisations by code, in `lang` (the English name where there is
/// one), in one query: the names a list's rows refer to (sites, deliverers). Names are what
/// every organisation shows of itself; unknown codes are left out.
pub async fn names(
    app: &App,
    actor: &Actor,
    codes: &[String],
    lang: vsys_domain::Lang,
) -> AppResult<std::collections::HashMap<String, String>> {
    actor.require_password_changed()?;
    let mut codes = codes.to_vec();
    codes.sort();
    codes.dedup();
    if codes.is_empty() {
        return Ok(Default::default());
    }
    let mut tx = app.db.read().await?;
    Ok(orgs::get_many(&mut tx, &codes)
        .await?
        .into_iter()
        .map(|o| {
            let name = match (lang, o.name_en) {
                (vsys_domain::Lang::En, Some(en)) if !en.is_empty() => en,
                _ => o.name,
            };
            (o.code, name)
        })
        .collect())
}
