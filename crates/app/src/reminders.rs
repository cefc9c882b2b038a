//! Deadline reminders that go out by themselves: after the day of a deadline has passed (Japan
//! time), each organisation late for its level in a recent cycle gets one reminder notice (and
//! e-mail) from the system, once per organisation and deadline. Run by the process holding the
//! scheduled-work lease (`crate::maintenance`); the row of `store::reminders` written in the
//! notice's transaction makes it exactly once even if two processes ran a round at once.

use crate::App;
use crate::audit::{Who, record};
use crate::dashboard::{CYCLES_SHOWN, Sender, deadline_of, is_late, reminder_notice, unfinished};
use crate::error::AppResult;
use crate::notices::notify;
use vsys_domain::chain::{Divider, Level};
use vsys_store::allocations::NodeRow;
use vsys_store::cycles::CycleRow;
use vsys_store::{Page, cycles, reminders};

/// The audit action of an automatic reminder (the dashboard's own is `allocation.remind`).
pub const ACTION: &str = "allocation.remind_auto";

/// The levels that are reminded (the nation has no deadline of its own).
const LEVELS: [Level; 3] = [Level::Prefecture, Level::Municipality, Level::Site];

/// How many organisations one transaction reminds: a whole level of the country (tens of
/// thousands of sites) in one would hold the write lock too long.
const BATCH: usize = 200;

/// Sends the reminders due now; how many went out. Reads the newest cycles (as many as the
/// dashboard shows), then, per cycle and level whose deadline's day has passed, the nodes still
/// late and not yet reminded in one statement; cheap when nothing is due.
pub async fn run(app: &App) -> AppResult<usize> {
    let now = app.clock.now();
    let today = crate::clock::japan_date(now);
    let recent = {
        let mut tx = app.db.read_each().await?;
        cycles::list(
            &mut tx,
            Page {
                page: 1,
                per_page: CYCLES_SHOWN,
            },
        )
        .await?
        .0
    };
    let who = Who::system();
    let mut sent = 0;
    for cycle in &recent {
        for level in LEVELS {
            let deadline = deadline_of(cycle, level);
            // Before the day has passed nobody is late; where the parent divides for the node
            // (the priority programme's municipalities), its owner has nothing to do.
            if today <= deadline || cycle.chain.divider(level) == Divider::Parent {
                continue;
            }
            let due: Vec<NodeRow> = {
                let mut tx = app.db.read_each().await?;
                reminders::due(&mut tx, &cycle.id, level, unfinished(level), deadline).await?
            };
            let late: Vec<&NodeRow> = due
                .iter()
                .filter(|n| is_late(level, n.status, today, deadline))
                .collect();
            for chunk in late.chunks(BATCH) {
                sent += remind(app, &who, cycle, level, deadline, chunk).await?;
            }
        }
    }
    if sent > 0 {
        tracing::info!(sent, "deadline reminders sent");
    }
    Ok(sent)
}

/// Reminds `nodes` in one transaction, each only if its row was not there yet.
async fn remind(
    app: &App,
    who: &Who,
    cycle: &CycleRow,
    level: Level,
    deadline: chrono::NaiveDate,
    nodes: &[&NodeRow],
) -> AppResult<usize> {
    let now = app.clock.now();
    let d = reminder_notice(cycle, level, deadline, Sender::Automatic);
    let mut tx = app.db.begin().await?;
    let mut sent = 0;
    for n in nodes {
        if !reminders::mark_sent(&mut tx, &cycle.id, &n.org_code, deadline, now, "auto").await? {
            continue;
        }
        notify(&mut tx, app, who, now, &n.org_code, None, &d).await?;
        record(
            &mut tx,
            who,
            now,
            ACTION,
            "allocation",
            &format!("{}:{}", cycle.id, n.org_code),
            None::<&()>,
            Some(&serde_json::json!({
                "cycle": cycle.id, "org": n.org_code, "level": level.as_str(),
                "status": n.status.as_str(), "deadline": deadline,
            })),
        )
        .await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}
