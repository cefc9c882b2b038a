//! The demo's autopilot: in a demo world only 港区 has printed logins, yet 東京都 may 確定 only
//! once every municipality with an amount has finished dividing. So, once 東京都 has pressed
//! 分配完了, each of its other municipalities confirms its amount (確認済), auto-fills its
//! division and finishes it (分配完了) — through the same audited use-cases as a person on the
//! screens, each acting as its OWN seeded account ([`super::autopilot_email`]), never on
//! anyone else's behalf.
//!
//! The server starts it ([`spawn`]) only over a database seeded as a demo ([`wanted`]: the
//! autopilot accounts exist); production code paths know nothing of it. It looks every
//! [`EVERY`] for work: any number of processes may run it (a second one racing for the same
//! node is refused with `Conflict` and finds nothing left to do on its next look).

use super::{DEMO_MUNICIPALITY, DEMO_PREFECTURE, autopilot_email};
use crate::App;
use crate::error::{AppError, AppResult};
use std::collections::HashSet;
use vsys_domain::Chain;
use vsys_domain::chain::Status;
use vsys_store::{Page, allocations, cycles, users};

/// How often the autopilot looks for a division to take over.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the autopilot did for one municipality in one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    pub cycle_id: String,
    pub org_code: String,
    /// The account it acted as.
    pub email: String,
}

/// Whether this database was seeded as a demo with autopilot accounts (a production database
/// never has them: they live under `@demo.vsys.jp`).
pub async fn wanted(app: &App) -> AppResult<bool> {
    let mut tx = app.db.read().await?;
    for m in crate::master_data::municipalities()?
        .iter()
        .filter(|m| m.prefecture_code == DEMO_PREFECTURE && m.code != DEMO_MUNICIPALITY)
        .take(3)
    {
        if users::by_email(&mut tx, &autopilot_email(&m.code))
            .await?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Starts the autopilot in the background: it looks for work every [`EVERY`] until the
/// process ends (or the handle is aborted). A refusal is logged once per municipality and
/// cycle, and tried again on later looks.
pub fn spawn(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!(
            "demo autopilot started: the demo's other municipalities act by themselves once their prefecture finishes dividing"
        );
        let mut told: HashSet<(String, String)> = HashSet::new();
        loop {
            match step(&app).await {
                Ok((acted, refused)) => {
                    for a in acted {
                        tracing::info!(cycle = %a.cycle_id, org = %a.org_code, as_user = %a.email, "demo autopilot: confirmed and divided");
                    }
                    for (cycle, org, e) in refused {
                        if told.insert((cycle.clone(), org.clone())) {
                            tracing::warn!(%cycle, %org, error = %e, "demo autopilot: refused (tried again later)");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "demo autopilot: could not look for work"),
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}

/// One look: in every cycle of the standard chain where the demo's prefecture has finished
/// dividing (分配完了), each of its municipalities that has an autopilot account and an amount
/// still to handle confirms, auto-fills and finishes, as its own account. Returns what was
/// done and what was refused (cycle, organisation, error).
pub async fn step(app: &App) -> AppResult<(Vec<Acted>, Vec<(String, String, AppError)>)> {
    let mut work: Vec<(String, String, Status)> = Vec::new();
    {
        let mut tx = app.db.read().await?;
        let (list, _) = cycles::list(&mut tx, Page::first(100)).await?;
        for cycle in list.iter().filter(|c| c.chain == Chain::Standard) {
            let Some(pref) = allocations::by_org(&mut tx, &cycle.id, DEMO_PREFECTURE).await? else {
                continue;
            };
            if pref.status != Status::Divided {
                continue;
            }
            for child in allocations::children(&mut tx, &pref.id).await? {
                if child.released
                    && child.vials > 0
                    && matches!(child.status, Status::Unconfirmed | Status::Confirmed)
                    && child.org_code != DEMO_MUNICIPALITY
                {
                    work.push((cycle.id.clone(), child.org_code.clone(), child.status));
                }
            }
        }
    }
    let mut acted = Vec::new();
    let mut refused = Vec::new();
    for (cycle_id, code, status) in work {
        let email = autopilot_email(&code);
        // Only municipalities with their own autopilot account; anyone else is left alone.
        let actor = match crate::accounts::actor_on_host(app, &email).await {
            Ok(a) => a,
            Err(AppError::NotFound) => continue,
            Err(e) => {
                refused.push((cycle_id, code, e));
                continue;
            }
        };
        let done = async {
            if status == Status::Unconfirmed {
                crate::allocation::confirm(app, &actor, &cycle_id, &code).await?;
            }
            // The node's version as stored now (as the division page would show it).
            let version = crate::allocation::division(app, &actor, &cycle_id, &code)
                .await?
                .node
                .version;
            crate::allocation::apply_autofill(app, &actor, &cycle_id, &code, version, None).await?;
            crate::allocation::finish(app, &actor, &cycle_id, &code).await?;
            Ok::<(), AppError>(())
        };
        match done.await {
            Ok(()) => acted.push(Acted {
                cycle_id,
                org_code: code,
                email,
            }),
            Err(e) => refused.push((cycle_id, code, e)),
        }
    }
    Ok((acted, refused))
}
