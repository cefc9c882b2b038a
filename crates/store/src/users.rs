//! Staff accounts.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::{Orgs, Users};
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub org_code: String,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: vsys_domain::Role,
    #[serde(skip)]
    pub password_hash: String,
    pub must_change_password: bool,
    #[serde(skip)]
    pub totp_secret: Option<String>,
    #[serde(skip)]
    pub totp_last_step: Option<i64>,
    pub disabled: bool,
    pub locked: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl UserRow {
    /// A new account as it is first written: active, unlocked, no TOTP, never logged in,
    /// version 0, with a fresh time-ordered id.
    pub fn new(
        org_code: &str,
        email: &str,
        name: String,
        role: vsys_domain::Role,
        password_hash: String,
        must_change_password: bool,
        now: DateTime<Utc>,
    ) -> UserRow {
        UserRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_code: org_code.to_owned(),
            email: email.to_owned(),
            name,
            role,
            password_hash,
            must_change_password,
            totp_secret: None,
            totp_last_step: None,
            disabled: false,
            locked: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

const COLUMNS: [Users; 15] = [
    Users::Id,
    Users::OrgCode,
    Users::Email,
    Users::Name,
    Users::Role,
    Users::PasswordHash,
    Users::MustChangePassword,
    Users::TotpSecret,
    Users::TotpLastStep,
    Users::Disabled,
    Users::Locked,
    Users::LastLoginAt,
    Users::CreatedAt,
    Users::UpdatedAt,
    Users::Version,
];

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(|c| (Users::Table, c)))
        .from(Users::Table)
        .to_owned()
}

pub async fn insert(tx: &mut Tx, u: &UserRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(Users::Table)
            .columns(COLUMNS)
            .values_panic([
                u.id.clone().into(),
                u.org_code.clone().into(),
                u.email.clone().into(),
                u.name.clone().into(),
                u.role.as_str().into(),
                u.password_hash.clone().into(),
                u.must_change_password.into(),
                u.totp_secret.clone().into(),
                u.totp_last_step.into(),
                u.disabled.into(),
                u.locked.into(),
                u.last_login_at.into(),
                u.created_at.into(),
                u.updated_at.into(),
                u.version.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<UserRow>> {
    tx.opt(
        &select()
            .and_where(Expr::col((Users::Table, Users::Id)).eq(id))
            .to_owned(),
    )
    .await
}

pub async fn by_email(tx: &mut Tx, email: &str) -> StoreResult<Option<UserRow>> {
    tx.opt(
        &select()
            .and_where(Expr::col((Users::Table, Users::Email)).eq(email))
            .to_owned(),
    )
    .await
}

/// The names of the given accounts, as `(id, name)`; unknown ids are left out.
pub async fn names(tx: &mut Tx, ids: &[&str]) -> StoreResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.all(
        &Query::select()
            .columns([Users::Id, Users::Name])
            .from(Users::Table)
            .and_where(Expr::col(Users::Id).is_in(ids.iter().copied()))
            .to_owned(),
    )
    .await
}

/// Users of the organisations inside `scope_path`, optionally of one organisation.
pub async fn list(
    tx: &mut Tx,
    scope_path: &str,
    org_code: Option<&str>,
    page: crate::Page,
) -> StoreResult<(Vec<UserRow>, i64)> {
    let cond = Cond::all()
        .add(crate::orgs::under((Orgs::Table, Orgs::Path), scope_path))
        .add_option(org_code.map(|c| Expr::col((Users::Table, Users::OrgCode)).eq(c)));
    let base = Query::select()
        .from(Users::Table)
        .inner_join(
            Orgs::Table,
            Expr::col((Orgs::Table, Orgs::Code)).equals((Users::Table, Users::OrgCode)),
        )
        .cond_where(cond)
        .to_owned();
    let total = tx
        .count(
            &base
                .clone()
                .expr(Expr::col((Users::Table, Users::Id)).count())
                .to_owned(),
        )
        .await?;
    let rows = tx
        .all(
            &base
                .clone()
                .columns(COLUMNS.map(|c| (Users::Table, c)))
                .order_by((Users::Table, Users::OrgCode), Order::Asc)
                .order_by((Users::Table, Users::Email), Order::Asc)
                .limit(page.limit())
                .offset(page.offset())
                .to_owned(),
        )
        .await?;
    Ok((rows, total))
}

/// Writes every mutable field of `u`, if the stored version is still `u.version`; the stored
/// version becomes `u.version + 1`. [`StoreError::Conflict`] when someone else changed the row.
/// Writes an account's editable fields if `u.version` is still current. What the login path
/// owns (`last_login_at`, `totp_last_step`) is left alone: see [`record_login`],
/// [`claim_totp_step`] and [`enrol_totp`].
pub async fn update(tx: &mut Tx, u: &UserRow) -> StoreResult<UserRow> {
    let n = tx
        .exec(
            &Query::update()
                .table(Users::Table)
                .values([
                    (Users::Name, u.name.clone().into()),
                    (Users::Role, u.role.as_str().into()),
                    (Users::PasswordHash, u.password_hash.clone().into()),
                    (Users::MustChangePassword, u.must_change_password.into()),
                    (Users::TotpSecret, u.totp_secret.clone().into()),
                    (Users::Disabled, u.disabled.into()),
                    (Users::Locked, u.locked.into()),
                    (Users::UpdatedAt, u.updated_at.into()),
                    (Users::Version, (u.version + 1).into()),
                ])
                .and_where(Expr::col(Users::Id).eq(u.id.as_str()))
                .and_where(Expr::col(Users::Version).eq(u.version))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(if get(tx, &u.id).await?.is_some() {
            StoreError::Conflict
        } else {
            StoreError::NotFound
        });
    }
    crate::coordination::bump(tx, crate::coordination::SESSIONS).await?;
    Ok(UserRow {
        version: u.version + 1,
        ..u.clone()
    })
}

/// Notes a completed login. Not versioned: logins of one user never conflict with each other
/// nor with an administrator's edit.
pub async fn record_login(tx: &mut Tx, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(Users::Table)
            .value(Users::LastLoginAt, now)
            .and_where(Expr::col(Users::Id).eq(id))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Uses up TOTP time step `step`: true when it is later than every step used before (a code
/// is good once, even under concurrent logins).
pub async fn claim_totp_step(tx: &mut Tx, id: &str, step: i64) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::update()
                .table(Users::Table)
                .value(Users::TotpLastStep, step)
                .and_where(Expr::col(Users::Id).eq(id))
                .cond_where(
                    Cond::any()
                        .add(Expr::col(Users::TotpLastStep).is_null())
                        .add(Expr::col(Users::TotpLastStep).lt(step)),
                )
                .to_owned(),
        )
        .await?;
    Ok(n == 1)
}

/// Stores a sealed TOTP secret for an account that has none (first enrolment, or after an
/// administrator's reset). False when the account has one already: enrolment never replaces
/// a secret.
pub async fn enrol_totp(
    tx: &mut Tx,
    id: &str,
    sealed_secret: &str,
    step: i64,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::update()
                .table(Users::Table)
                .value(Users::TotpSecret, sealed_secret)
                .value(Users::TotpLastStep, step)
                .value(Users::UpdatedAt, now)
                .value(Users::Version, Expr::col(Users::Version).add(1i64))
                .and_where(Expr::col(Users::Id).eq(id))
                .and_where(Expr::col(Users::TotpSecret).is_null())
                .to_owned(),
        )
        .await?;
    if n == 1 {
        crate::coordination::bump(tx, crate::coordination::SESSIONS).await?;
    }
    Ok(n == 1)
}

/// Every account's stored TOTP secret, as `(id, stored)` (re-sealing at start).
pub async fn totp_secrets(tx: &mut Tx) -> StoreResult<Vec<(String, String)>> {
    tx.all(
        &Query::select()
            .columns([Users::Id, Users::TotpSecret])
            .from(Users::Table)
            .and_where(Expr::col(Users::TotpSecret).is_not_null())
            .to_owned(),
    )
    .await
}

/// Replaces a stored TOTP secret with its sealed form (unversioned: the secret is the same).
pub async fn reseal_totp(tx: &mut Tx, id: &str, old: &str, sealed: &str) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::update()
                .table(Users::Table)
                .value(Users::TotpSecret, sealed)
                .and_where(Expr::col(Users::Id).eq(id))
                .and_where(Expr::col(Users::TotpSecret).eq(old))
                .to_owned(),
        )
        .await?;
    Ok(n == 1)
}

pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    tx.count(
        &Query::select()
            .expr(Expr::col(Users::Id).count())
            .from(Users::Table)
            .to_owned(),
    )
    .await
}

/// Organisations of the given kinds that have at least one enabled user (who can read a
/// notice), in code order.
pub async fn org_codes_of_kinds(tx: &mut Tx, kinds: &[&str]) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = tx
        .all(
            &Query::select()
                .distinct()
                .column((Users::Table, Users::OrgCode))
                .from(Users::Table)
                .inner_join(
                    Orgs::Table,
                    Expr::col((Orgs::Table, Orgs::Code)).equals((Users::Table, Users::OrgCode)),
                )
                .and_where(Expr::col((Orgs::Table, Orgs::Kind)).is_in(kinds.iter().copied()))
                .and_where(Expr::col((Users::Table, Users::Disabled)).eq(false))
                .order_by((Users::Table, Users::OrgCode), Order::Asc)
                .to_owned(),
        )
        .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}
