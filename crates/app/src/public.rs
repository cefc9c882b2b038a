//! The public site's data (コロナワクチンナビ): an in-memory snapshot of every public site's
//! public fields, indexed by municipality, built from one read of the registry. It is rebuilt
//! in the background when the `registry` change counter moves (debounced, [`run_follower`]),
//! never on a citizen's request; while the database cannot be read, the last snapshot keeps
//! answering and says how old it is.

use crate::error::{AppError, AppResult};
use crate::{App, signal};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use vsys_domain::{OrgKind, Reservation};
use vsys_store::coordination::{self, REGISTRY};
use vsys_store::orgs::{self, OrgFilter};
use vsys_store::{Page, sites};

/// What the public site shows of a site: where it is, how to reach it, and whether it takes
/// bookings. Only contracted sites, and institutions once the municipality confirmed them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicSite {
    pub code: String,
    pub name: String,
    /// `institution` or `site` (集団接種会場).
    pub kind: OrgKind,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub hours: Option<String>,
    pub accepts_non_regular: bool,
    /// `available` ○, `few` △, `none` ×, `not_needed` ●, `unregistered`.
    pub reservation: Reservation,
    pub reservation_at: Option<DateTime<Utc>>,
}

/// The public registry as of one moment.
pub struct Snapshot {
    /// The `registry` counter read before the snapshot was: it holds every change up to there.
    pub version: i64,
    /// When it was read.
    pub built_at: DateTime<Utc>,
    /// Every public site, by municipality (the municipalities' order of the registry).
    sites: Vec<PublicSite>,
    /// Municipality code → the range of its sites in `sites` (every municipality, even one
    /// without a public site).
    by_municipality: HashMap<String, std::ops::Range<usize>>,
}

impl Snapshot {
    /// The public sites of a municipality; `None` for a code that is no municipality.
    pub fn municipality(&self, code: &str) -> Option<&[PublicSite]> {
        self.by_municipality
            .get(code)
            .map(|r| &self.sites[r.clone()])
    }
}

/// The snapshot a process holds, and the lock that lets one build run at a time.
#[derive(Default)]
pub struct Holder {
    current: RwLock<Option<Arc<Snapshot>>>,
    building: Mutex<()>,
}

impl Holder {
    fn get(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, s: Arc<Snapshot>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(s);
    }
}

/// Reads the registry into a new snapshot (one read transaction after the counter).
async fn build(app: &App) -> AppResult<Snapshot> {
    let version = coordination::version(&app.db, REGISTRY).await?;
    let built_at = app.clock.now();
    let mut tx = app.db.read_long().await?;
    let municipalities = orgs::list(
        &mut tx,
        &OrgFilter {
            scope_path: "/".into(),
            kind: Some(OrgKind::Municipality.as_str().into()),
            ..OrgFilter::default()
        },
        Page::all(),
    )
    .await?
    .0;
    let rows = sites::public_rows(&mut tx).await?;
    drop(tx);
    let mut grouped: HashMap<String, Vec<PublicSite>> = HashMap::new();
    for r in rows {
        let Some(m) = r.municipality_code.clone() else {
            continue;
        };
        grouped.entry(m).or_default().push(PublicSite {
            code: r.code,
            name: r.name,
            kind: r.kind,
            postal_code: r.postal_code,
            address: r.address,
            phone: r.phone,
            website: r.website,
            hours: r.hours,
            accepts_non_regular: r.accepts_non_regular,
            reservation: r.reservation,
            reservation_at: r.reservation_at,
        });
    }
    let mut sites = Vec::new();
    let mut by_municipality = HashMap::with_capacity(municipalities.len());
    for m in municipalities {
        let start = sites.len();
        sites.extend(grouped.remove(&m.code).unwrap_or_default());
        by_municipality.insert(m.code, start..sites.len());
    }
    Ok(Snapshot {
        version,
        built_at,
        sites,
        by_municipality,
    })
}

/// Builds a new snapshot now and puts it in place (what the follower does on a change; also
/// for tests and tools that want the public site to show a change at once). One build at a
/// time per process; a build that finds a newer snapshot in place keeps that one.
pub async fn refresh(app: &App) -> AppResult<Arc<Snapshot>> {
    let _one = app.public.building.lock().await;
    let s = Arc::new(build(app).await?);
    match app.public.get() {
        Some(held) if held.version > s.version => Ok(held),
        _ => {
            app.public.set(s.clone());
            Ok(s)
        }
    }
}

/// The snapshot this process holds; the first call of a process that has none builds it (the
/// server builds it with [`refresh`] before it listens).
pub async fn snapshot(app: &App) -> AppResult<Arc<Snapshot>> {
    match app.public.get() {
        Some(s) => Ok(s),
        None => refresh(app).await,
    }
}

/// The snapshot, for a municipality's public list (no login: citizens look here): `NotFound`
/// when `code` is no municipality. Its sites are `snapshot.municipality(code)`.
pub async fn for_municipality(app: &App, code: &str) -> AppResult<Arc<Snapshot>> {
    let s = snapshot(app).await?;
    if s.municipality(code).is_none() {
        return Err(AppError::NotFound);
    }
    Ok(s)
}

/// The public list of one municipality's sites, from the snapshot (see [`for_municipality`]).
pub async fn municipality_sites(app: &App, code: &str) -> AppResult<Vec<PublicSite>> {
    let code = code.trim();
    let s = for_municipality(app, code).await?;
    Ok(s.municipality(code).unwrap_or_default().to_vec())
}

/// How long the follower waits after a change before it rebuilds (changes that come together,
/// such as a registry import or a burst of reservation clicks, make one rebuild).
pub const DEBOUNCE: Duration = Duration::from_millis(500);
/// How often the follower looks without being woken (a lost notification, a database that
/// was unreachable at the last change).
const RECHECK: Duration = Duration::from_secs(30);

/// Keeps this process's snapshot up to date until `stop`: after the `registry` counter moves
/// (as the change signal reports it), waits [`DEBOUNCE`] and rebuilds. A failed build (the
/// database unreachable) keeps the snapshot in place and is retried at the next change or
/// after [`RECHECK`].
pub async fn run_follower(app: App, mut stop: watch::Receiver<bool>) {
    let mut changes = app.signals.subscribe();
    loop {
        let held = app.public.get().map_or(-1, |s| s.version);
        if app.signals.version(signal::REGISTRY) > held {
            tokio::select! {
                () = tokio::time::sleep(DEBOUNCE) => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = refresh(&app).await {
                tracing::warn!(error = %e, "public site: the snapshot could not be rebuilt; the last one keeps answering");
            }
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            () = tokio::time::sleep(RECHECK) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
