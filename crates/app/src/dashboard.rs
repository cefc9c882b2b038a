//! The dashboard of the nation, a prefecture or a municipality (進捗状況): for each recent
//! cycle, where every organisation below stands in the allocation chain, who is late against
//! the cycle's deadline for its level, and a reminder notice to those late in one click.

use crate::App;
use crate::audit::record;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::notices::{NoticeDraft, notify};
use chrono::{DateTime, NaiveDate, Utc};
use vsys_domain::chain::{Level, Status};
use vsys_domain::{Action, Capability};
use vsys_store::cycles::CycleRow;
use vsys_store::{Page, reminders};

/// How many of the newest cycles the dashboard shows.
pub const CYCLES_SHOWN: u64 = 5;

/// One organisation below, as the progress panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProgress {
    pub code: String,
    pub name: String,
    /// `None`: nothing was divided to it (it has no part in this cycle).
    pub status: Option<Status>,
    /// Past its level's deadline and its step not done.
    pub late: bool,
}

/// One cycle's progress below the caller's organisation.
#[derive(Debug, Clone)]
pub struct CycleProgress {
    pub cycle: CycleRow,
    /// The caller's own node's status.
    pub own: Status,
    /// The level of the organisations below and the deadline of their step.
    pub child_level: Level,
    pub deadline: NaiveDate,
    pub children: Vec<ChildProgress>,
    /// The newest change among the nodes shown (the panel's freshness).
    pub updated_at: DateTime<Utc>,
}

impl CycleProgress {
    /// How many organisations below are at `status`.
    pub fn count(&self, status: Status) -> usize {
        self.children
            .iter()
            .filter(|c| c.status == Some(status))
            .count()
    }

    /// The organisations below that are late.
    pub fn late(&self) -> impl Iterator<Item = &ChildProgress> {
        self.children.iter().filter(|c| c.late)
    }
}

/// The deadline of the step the organisations of `level` take in `cycle`.
pub fn deadline_of(cycle: &CycleRow, level: Level) -> NaiveDate {
    match level {
        Level::Nation | Level::Prefecture => cycle.deadline_prefecture,
        Level::Municipality => cycle.deadline_municipality,
        Level::Site => cycle.deadline_site,
    }
}

/// The statuses at which an organisation of `level` has not done its step yet: a prefecture or
/// municipality that has not finished dividing (分配完了), a site that has not confirmed (確認済).
pub fn unfinished(level: Level) -> &'static [Status] {
    match level {
        Level::Site => &[Status::Unconfirmed],
        _ => &[Status::Unconfirmed, Status::Confirmed],
    }
}

/// Whether an organisation of `level` at `status` is late on `today` against `deadline`: its
/// step not done ([`unfinished`]) after the day of the deadline.
pub fn is_late(level: Level, status: Status, today: NaiveDate, deadline: NaiveDate) -> bool {
    today > deadline && unfinished(level).contains(&status)
}

/// Who a reminder comes from, as its text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender<'a> {
    /// An organisation above that pressed the dashboard's button (its name).
    Org(&'a str),
    /// The scheduled reminder (`crate::reminders`).
    Automatic,
}

/// The reminder notice to an organisation of `level` late for `deadline` in `cycle`: the one
/// text of the dashboard's reminder and the automatic one, linking the cycle's division.
pub fn reminder_notice(
    cycle: &CycleRow,
    level: Level,
    deadline: NaiveDate,
    from: Sender<'_>,
) -> NoticeDraft {
    let (step_ja, step_en) = if level == Level::Site {
        ("「確認済にする」", "confirm your amount")
    } else {
        ("分配と「分配完了にする」", "divide and press 分配完了")
    };
    let (from_ja, from_en) = match from {
        Sender::Org(name) => (format!("{name}より"), format!("from {name}")),
        Sender::Automatic => (
            "V-SYSからの自動のお知らせ".to_owned(),
            "sent automatically by V-SYS".to_owned(),
        ),
    };
    NoticeDraft {
        category: "allocation".into(),
        title_ja: format!("{} 分配の締切（{}）を過ぎています", cycle.name, deadline),
        title_en: format!("{}: the deadline ({}) has passed", cycle.name, deadline),
        body_ja: format!(
            "{}の締切（{}）を過ぎています。{}を行ってください。（{}）",
            cycle.name, deadline, step_ja, from_ja
        ),
        body_en: format!(
            "The deadline of {} ({}) has passed. Please {}. ({})",
            cycle.name, deadline, step_en, from_en
        ),
        link: Some(format!("/allocations/{}", cycle.id)),
    }
}

async fn cycle_progress(
    app: &App,
    actor: &Actor,
    cycle: &CycleRow,
    today: NaiveDate,
) -> AppResult<Option<CycleProgress>> {
    let d = match crate::allocation::division(app, actor, &cycle.id, actor.org_code()).await {
        Ok(d) => d,
        // The caller's organisation has no part in this cycle.
        Err(AppError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(child_level) = d.node.level.child() else {
        return Ok(None);
    };
    let deadline = deadline_of(&d.cycle, child_level);
    let mut updated_at = d.node.updated_at;
    let children = d
        .children
        .iter()
        .map(|ch| {
            let node = ch.node.as_ref().filter(|n| n.vials > 0);
            if let Some(n) = node {
                updated_at = updated_at.max(n.updated_at);
            }
            let status = node.map(|n| n.status);
            ChildProgress {
                code: ch.org.code.clone(),
                name: ch.org.name.clone(),
                late: status.is_some_and(|s| is_late(child_level, s, today, deadline)),
                status,
            }
        })
        .collect();
    Ok(Some(CycleProgress {
        own: d.node.status,
        cycle: d.cycle.clone(),
        child_level,
        deadline,
        children,
        updated_at,
    }))
}

/// The progress below the caller's organisation in the newest cycles it takes part in (the
/// nation, prefectures and municipalities).
pub async fn progress(app: &App, actor: &Actor) -> AppResult<Vec<CycleProgress>> {
    actor.require_can(Capability::OverseeArea)?;
    let today = crate::clock::japan_date(app.clock.now());
    let (cycles, _) = crate::cycles::list(
        app,
        actor,
        Page {
            page: 1,
            per_page: CYCLES_SHOWN,
        },
    )
    .await?;
    let mut out = Vec::new();
    for c in &cycles {
        if let Some(p) = cycle_progress(app, actor, c, today).await? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Whether the actor may send reminders (its organisation's operators and administrators; a
/// viewer sees the progress only). The screens ask it to show the button.
pub fn may_remind(actor: &Actor) -> bool {
    actor.can(Capability::OverseeArea)
        && actor
            .principal()
            .may(Action::Write, &actor.principal().org_path)
}

/// Sends each organisation below that is late in `cycle_id` a reminder notice (and e-mail),
/// audited once per organisation; the caller's operators and administrators. Returns the
/// organisations reminded.
pub async fn remind(app: &App, actor: &Actor, cycle_id: &str) -> AppResult<Vec<ChildProgress>> {
    actor.require_can(Capability::OverseeArea)?;
    if !may_remind(actor) {
        return Err(AppError::Forbidden);
    }
    let now = app.clock.now();
    let today = crate::clock::japan_date(now);
    let cycle = crate::cycles::get(app, actor, cycle_id).await?;
    let p = cycle_progress(app, actor, &cycle, today)
        .await?
        .ok_or(AppError::NotFound)?;
    let late: Vec<ChildProgress> = p.late().cloned().collect();
    let mut tx = app.db.begin().await?;
    let who = actor.into();
    for c in &late {
        let d = reminder_notice(
            &p.cycle,
            p.child_level,
            p.deadline,
            Sender::Org(actor.org_name()),
        );
        notify(&mut tx, app, &who, now, &c.code, None, &d).await?;
        // A reminder by hand counts as the deadline's reminder: the automatic one does not
        // follow it (`crate::reminders`).
        reminders::mark_sent(&mut tx, &p.cycle.id, &c.code, p.deadline, now, "manual").await?;
        record(
            &mut tx,
            &who,
            now,
            "allocation.remind",
            "allocation",
            &format!("{}:{}", p.cycle.id, c.code),
            None::<&()>,
            Some(&serde_json::json!({
                "cycle": p.cycle.id, "org": c.code, "status": c.status.map(|s| s.as_str()),
                "deadline": p.deadline,
            })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(late)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_by_level() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap_or_default();
        let after = d.succ_opt().unwrap_or_default();
        assert!(
            !is_late(Level::Prefecture, Status::Confirmed, d, d),
            "the day itself"
        );
        assert!(is_late(Level::Prefecture, Status::Confirmed, after, d));
        assert!(is_late(Level::Municipality, Status::Unconfirmed, after, d));
        assert!(!is_late(Level::Municipality, Status::Divided, after, d));
        assert!(!is_late(Level::Municipality, Status::Final, after, d));
        assert!(is_late(Level::Site, Status::Unconfirmed, after, d));
        assert!(!is_late(Level::Site, Status::Confirmed, after, d));
    }
}
