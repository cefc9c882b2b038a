//! Daily results (接種実績) and wastage (廃棄), entered as each day's numbers while the nation
//! keeps a reporting period open. A day's results write the stock ledger: doses given (with
//! the remainder of opened vials wasted) and vials wasted; entering a day again reverses what
//! it wrote before and writes the new numbers, so nothing is overwritten.

use crate::App;
use crate::audit::{Who, record};
use crate::clock::japan_date;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::notices::{NoticeDraft, notify};
use crate::sites::{site_in_scope, writable_site};
use crate::stock::{movement, refused, row};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use vsys_domain::Capability;
use vsys_domain::ledger::{self, Movement, WasteReason};
use vsys_domain::{Invalid, Msg};
use vsys_store::ledger as store_ledger;
use vsys_store::results::{self, PeriodRow, ResultRow};

/// Opens a reporting period (nation operators) and tells every site with an account.
pub async fn open_period(
    app: &App,
    actor: &Actor,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> AppResult<PeriodRow> {
    actor.require_can(Capability::ManageProgramme)?;
    if last_day < first_day {
        return Err(AppError::invalid("last_day", Msg::PeriodOrder));
    }
    if (last_day - first_day).num_days() >= 366 {
        return Err(AppError::invalid("last_day", Msg::PeriodTooLong));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let open: Vec<PeriodRow> = results::periods(&mut tx)
        .await?
        .into_iter()
        .filter(|p| p.closed_at.is_none() && p.first_day <= last_day && first_day <= p.last_day)
        .collect();
    if !open.is_empty() {
        return Err(AppError::invalid("first_day", Msg::PeriodOverlaps));
    }
    let p = PeriodRow {
        id: uuid::Uuid::now_v7().to_string(),
        first_day,
        last_day,
        opened_at: now,
        opened_by: Some(actor.user_id.clone()),
        closed_at: None,
        closed_by: None,
    };
    results::insert_period(&mut tx, &p).await?;
    let who: Who = actor.into();
    record(
        &mut tx,
        &who,
        now,
        "results.period.open",
        "reporting_period",
        &p.id,
        None::<&()>,
        Some(&p),
    )
    .await?;
    let draft = NoticeDraft {
        category: "results".into(),
        title_ja: "接種実績の入力期間が開始しました".into(),
        title_en: "Reporting of vaccination results has opened".into(),
        body_ja: format!(
            "{first_day}から{last_day}までの接種実績（接種回数・廃棄本数）を入力してください。"
        ),
        body_en: format!(
            "Enter your results (doses given, vials wasted) for {first_day} to {last_day}."
        ),
        link: Some("/results".into()),
    };
    for code in vsys_store::users::org_codes_of_kinds(&mut tx, &["institution", "site"]).await? {
        notify(&mut tx, app, &who, now, &code, None, &draft).await?;
    }
    tx.commit().await?;
    Ok(p)
}

pub async fn close_period(app: &App, actor: &Actor, id: &str) -> AppResult<PeriodRow> {
    actor.require_can(Capability::ManageProgramme)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let p = results::close_period(&mut tx, id, now, &actor.user_id).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "results.period.close",
        "reporting_period",
        &p.id,
        None::<&()>,
        Some(&p),
    )
    .await?;
    tx.commit().await?;
    Ok(p)
}

/// All reporting periods, newest first (every staff user).
pub async fn periods(app: &App, actor: &Actor) -> AppResult<Vec<PeriodRow>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    Ok(results::periods(&mut tx).await?)
}

/// One day's numbers of a site.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DayInput {
    /// Doses given that day (not a running total).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub total: i64,
    /// Of which people aged 65 and over.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub elderly: i64,
    /// Of which people with underlying conditions.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub underlying: i64,
    /// Of which others.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub others: i64,
    /// Vials wasted that day besides opened vials' remainders (廃棄本数).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub wasted_vials: i64,
    /// `expired_after_thaw`, `breakage`, `cold_chain` or `other`; needed when vials were wasted.
    pub waste_reason: Option<String>,
}

fn validate(d: &DayInput) -> Result<Option<WasteReason>, Invalid> {
    let mut inv = Invalid::default();
    for (f, v) in [
        ("total", d.total),
        ("elderly", d.elderly),
        ("underlying", d.underlying),
        ("others", d.others),
        ("wasted_vials", d.wasted_vials),
    ] {
        if v < 0 {
            inv.push(f, Msg::NegativeNumber);
        } else if v > 1_000_000 {
            inv.push(f, Msg::LedgerTooLarge);
        }
    }
    if inv.0.is_empty() && d.elderly + d.underlying + d.others != d.total {
        inv.push("total", Msg::PartsDoNotAddUp);
    }
    let reason = d
        .waste_reason
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| WasteReason::parse(s).filter(|r| WasteReason::REPORTABLE.contains(r)));
    let reason = match (d.wasted_vials > 0, reason) {
        (_, Some(None)) => {
            inv.push("waste_reason", Msg::LedgerReasonNotReportable);
            None
        }
        (true, None) => {
            inv.push("waste_reason", Msg::WasteReasonRequired);
            None
        }
        (_, Some(r)) => r,
        (false, None) => None,
    };
    inv.into_result()?;
    Ok(reason)
}

/// Enters (or re-enters) a site's results for `day`. `version`: `None` the first time, else
/// the version read.
pub async fn put_day(
    app: &App,
    actor: &Actor,
    code: &str,
    day: NaiveDate,
    version: Option<i64>,
    d: &DayInput,
) -> AppResult<ResultRow> {
    let reason = validate(d)?;
    let now = app.clock.now();
    if day > japan_date(now) {
        return Err(AppError::invalid("day", Msg::FutureDay));
    }
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    if results::open_period_for(&mut tx, day).await?.is_none() {
        return Err(AppError::invalid("day", Msg::ReportingClosed));
    }
    let before = results::get(&mut tx, &org.code, day).await?;
    if before.as_ref().map(|b| b.version) != version {
        return Err(AppError::Conflict);
    }
    // Reverse what this day wrote before, then plan the day against the stock that leaves.
    let reference = format!("results:{day}");
    let rows = store_ledger::for_org(&mut tx, &org.code).await?;
    let mut moves: Vec<Movement> = rows.iter().map(movement).collect();
    let earlier = store_ledger::unreversed_for_reference(&mut tx, &org.code, &reference).await?;
    let earlier_moves: Vec<Movement> = earlier.iter().map(movement).collect();
    let reversals = ledger::correct(&ledger::balances(&moves), &earlier_moves)
        .map_err(|e| refused("total", e))?;
    moves.extend(reversals.iter().cloned());
    let planned = ledger::plan_day(
        &ledger::balances(&moves),
        d.total,
        d.wasted_vials,
        reason.unwrap_or(WasteReason::Other),
    )
    .map_err(|e| match e {
        ledger::LedgerError::MoreVialsThanStock { .. } => refused("wasted_vials", e),
        e => refused("total", e),
    })?;
    let who: Who = actor.into();
    let cycle_of = |lot: &str| {
        rows.iter()
            .find(|r| r.lot == lot)
            .and_then(|r| r.cycle_id.clone())
    };
    let mut written = Vec::new();
    for (orig, m) in earlier.iter().zip(&reversals) {
        written.push(row(
            &org.code,
            m,
            orig.cycle_id.as_deref(),
            Some(&reference),
            Some(&orig.id),
            None,
            now,
            &who,
        ));
    }
    for m in &planned {
        written.push(row(
            &org.code,
            m,
            cycle_of(&m.lot).as_deref(),
            Some(&reference),
            None,
            None,
            now,
            &who,
        ));
    }
    store_ledger::append(&mut tx, &written).await?;
    let after = ResultRow {
        org_code: org.code.clone(),
        day,
        total: d.total,
        elderly: d.elderly,
        underlying: d.underlying,
        others: d.others,
        wasted_vials: d.wasted_vials,
        waste_reason: reason
            .filter(|_| d.wasted_vials > 0)
            .map(|r| r.as_str().to_owned()),
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version: 0,
    };
    let after = results::put(&mut tx, &after, version).await?;
    record(
        &mut tx,
        &who,
        now,
        "results.day",
        "results",
        &format!("{}:{day}", org.code),
        before.as_ref(),
        Some(&serde_json::json!({"results": after, "ledger": written})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A site's results of the last `days` days, newest first.
pub async fn recent(app: &App, actor: &Actor, code: &str, days: i64) -> AppResult<Vec<ResultRow>> {
    let mut tx = app.db.read().await?;
    let org = site_in_scope(&mut tx, actor, code).await?;
    let today = japan_date(app.clock.now());
    Ok(results::for_org(
        &mut tx,
        &org.code,
        today - Duration::days(days.clamp(1, 400) - 1),
        today,
    )
    .await?)
}

/// A site's results for one day, if entered.
pub async fn day(
    app: &App,
    actor: &Actor,
    code: &str,
    day: NaiveDate,
) -> AppResult<Option<ResultRow>> {
    let mut tx = app.db.read().await?;
    let org = site_in_scope(&mut tx, actor, code).await?;
    Ok(results::get(&mut tx, &org.code, day).await?)
}
