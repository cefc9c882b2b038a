//! Sites' registry entries and details (医療機関・集団接種会場), pending changes awaiting the
//! municipality, and doctors.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::{Doctors as D, SiteChanges as C, SiteProfiles as P, SiteVaccines as V};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement, SimpleExpr};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct ProfileRow {
    pub org_code: String,
    /// 老健施設コード or 介護医療院コード, where the site has one.
    pub facility_code: Option<String>,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub representative: Option<String>,
    /// `contracted`, `pending` or `not_contracted` (契約状況).
    #[sqlx(try_from = "String")]
    pub contract_status: vsys_domain::site::ContractStatus,
    /// `hub` (基本型) or `satellite` (連携型/サテライト型).
    #[sqlx(try_from = "String")]
    pub site_type: vsys_domain::site::SiteType,
    pub hub_code: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub hours: Option<String>,
    pub accepts_non_regular: bool,
    pub access: Option<String>,
    pub parking: Option<String>,
    pub freezers_ultra_cold: i64,
    pub freezers_minus20: i64,
    pub storage_location: Option<String>,
    /// When the site first registered its details.
    pub details_at: Option<DateTime<Utc>>,
    /// When the municipality confirmed it as a cooperating institution (協力医療機関).
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<String>,
    /// `available`, `few`, `none`, `not_needed` or `unregistered`.
    #[sqlx(try_from = "String")]
    pub reservation: vsys_domain::site::Reservation,
    pub reservation_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
    /// The site's own point (WGS 84), for the public finder's map link and distance.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// 予約方法: a `vsys_domain::Booking` code.
    pub booking: Option<String>,
    /// The booking page, for web booking.
    pub booking_url: Option<String>,
}

const COLUMNS: [P; 29] = [
    P::OrgCode,
    P::FacilityCode,
    P::PostalCode,
    P::Address,
    P::Representative,
    P::ContractStatus,
    P::SiteType,
    P::HubCode,
    P::Phone,
    P::Website,
    P::Hours,
    P::AcceptsNonRegular,
    P::Access,
    P::Parking,
    P::FreezersUltraCold,
    P::FreezersMinus20,
    P::StorageLocation,
    P::DetailsAt,
    P::ConfirmedAt,
    P::ConfirmedBy,
    P::Reservation,
    P::ReservationAt,
    P::UpdatedAt,
    P::UpdatedBy,
    P::Version,
    P::Latitude,
    P::Longitude,
    P::Booking,
    P::BookingUrl,
];

fn values(r: &ProfileRow) -> [SimpleExpr; 29] {
    [
        r.org_code.clone().into(),
        r.facility_code.clone().into(),
        r.postal_code.clone().into(),
        r.address.clone().into(),
        r.representative.clone().into(),
        r.contract_status.as_str().into(),
        r.site_type.as_str().into(),
        r.hub_code.clone().into(),
        r.phone.clone().into(),
        r.website.clone().into(),
        r.hours.clone().into(),
        r.accepts_non_regular.into(),
        r.access.clone().into(),
        r.parking.clone().into(),
        r.freezers_ultra_cold.into(),
        r.freezers_minus20.into(),
        r.storage_location.clone().into(),
        r.details_at.into(),
        r.confirmed_at.into(),
        r.confirmed_by.clone().into(),
        r.reservation.as_str().into(),
        r.reservation_at.into(),
        r.updated_at.into(),
        r.updated_by.clone().into(),
        r.version.into(),
        r.latitude.into(),
        r.longitude.into(),
        r.booking.clone().into(),
        r.booking_url.clone().into(),
    ]
}

fn select() -> SelectStatement {
    Query::select().columns(COLUMNS).from(P::Table).to_owned()
}

pub async fn get(tx: &mut Tx, org_code: &str) -> StoreResult<Option<ProfileRow>> {
    tx.opt(
        &select()
            .and_where(Expr::col(P::OrgCode).eq(org_code))
            .to_owned(),
    )
    .await
}

/// Profiles of the given sites (any order).
pub async fn for_orgs(tx: &mut Tx, codes: &[String]) -> StoreResult<Vec<ProfileRow>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(1000) {
        out.extend(
            tx.all::<ProfileRow, _>(
                &select()
                    .and_where(Expr::col(P::OrgCode).is_in(chunk.iter().map(String::as_str)))
                    .to_owned(),
            )
            .await?,
        );
    }
    Ok(out)
}

/// Satellites registered under a hub.
pub async fn satellites(tx: &mut Tx, hub_code: &str) -> StoreResult<Vec<ProfileRow>> {
    tx.all(
        &select()
            .and_where(Expr::col(P::HubCode).eq(hub_code))
            .order_by(P::OrgCode, Order::Asc)
            .to_owned(),
    )
    .await
}

/// Inserts profiles in batches (import, demo); a profile that exists is replaced.
pub async fn upsert_many(tx: &mut Tx, rows: &[ProfileRow]) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert()
            .into_table(P::Table)
            .columns(COLUMNS)
            .to_owned();
        for r in chunk {
            q.values_panic(values(r));
        }
        q.on_conflict(
            OnConflict::column(P::OrgCode)
                .update_columns(COLUMNS.into_iter().skip(1))
                .to_owned(),
        );
        tx.exec(&q).await?;
    }
    Ok(())
}

/// Writes a profile if the stored version is still `r.version - 1`.
pub async fn update(tx: &mut Tx, r: &ProfileRow) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    let n = tx
        .exec(
            &Query::update()
                .table(P::Table)
                .values(COLUMNS.into_iter().zip(values(r)).skip(1))
                .and_where(Expr::col(P::OrgCode).eq(r.org_code.as_str()))
                .and_where(Expr::col(P::Version).eq(r.version - 1))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// A change of controlled fields (name, address, municipality, contract status) that waits
/// for the municipality. `before` and `after` are JSON objects of the changed fields.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct ChangeRow {
    pub id: String,
    pub org_code: String,
    pub before: String,
    pub after: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub requested_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

const CHANGE_COLUMNS: [C; 9] = [
    C::Id,
    C::OrgCode,
    C::Before,
    C::After,
    C::Status,
    C::RequestedAt,
    C::RequestedBy,
    C::DecidedAt,
    C::DecidedBy,
];

pub async fn insert_change(tx: &mut Tx, c: &ChangeRow) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    tx.exec(
        &Query::insert()
            .into_table(C::Table)
            .columns(CHANGE_COLUMNS)
            .values_panic([
                c.id.clone().into(),
                c.org_code.clone().into(),
                c.before.clone().into(),
                c.after.clone().into(),
                c.status.clone().into(),
                c.requested_at.into(),
                c.requested_by.clone().into(),
                c.decided_at.into(),
                c.decided_by.clone().into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn get_change(tx: &mut Tx, id: &str) -> StoreResult<Option<ChangeRow>> {
    tx.opt(
        &Query::select()
            .columns(CHANGE_COLUMNS)
            .from(C::Table)
            .and_where(Expr::col(C::Id).eq(id))
            .to_owned(),
    )
    .await
}

/// Changes of the given sites with this status, oldest first.
pub async fn changes_for(
    tx: &mut Tx,
    codes: &[String],
    status: &str,
) -> StoreResult<Vec<ChangeRow>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(1000) {
        out.extend(
            tx.all::<ChangeRow, _>(
                &Query::select()
                    .columns(CHANGE_COLUMNS)
                    .from(C::Table)
                    .and_where(Expr::col(C::OrgCode).is_in(chunk.iter().map(String::as_str)))
                    .and_where(Expr::col(C::Status).eq(status))
                    .order_by(C::RequestedAt, Order::Asc)
                    .to_owned(),
            )
            .await?,
        );
    }
    Ok(out)
}

/// Marks a pending change decided; `Conflict` when it was no longer pending.
pub async fn decide_change(
    tx: &mut Tx,
    id: &str,
    status: &str,
    at: DateTime<Utc>,
    by: &str,
) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    let n = tx
        .exec(
            &Query::update()
                .table(C::Table)
                .values([
                    (C::Status, status.into()),
                    (C::DecidedAt, at.into()),
                    (C::DecidedBy, by.into()),
                ])
                .and_where(Expr::col(C::Id).eq(id))
                .and_where(Expr::col(C::Status).eq("pending"))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// A doctor (医師) working at a site. Personal data: name and registration number only.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct DoctorRow {
    pub id: String,
    pub org_code: String,
    pub name: String,
    /// 医籍登録番号.
    pub registration_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

const DOCTOR_COLUMNS: [D; 6] = [
    D::Id,
    D::OrgCode,
    D::Name,
    D::RegistrationNumber,
    D::CreatedAt,
    D::CreatedBy,
];

pub async fn doctors(tx: &mut Tx, org_code: &str) -> StoreResult<Vec<DoctorRow>> {
    tx.all(
        &Query::select()
            .columns(DOCTOR_COLUMNS)
            .from(D::Table)
            .and_where(Expr::col(D::OrgCode).eq(org_code))
            .order_by(D::CreatedAt, Order::Asc)
            .order_by(D::Id, Order::Asc)
            .to_owned(),
    )
    .await
}

pub async fn insert_doctor(tx: &mut Tx, d: &DoctorRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(D::Table)
            .columns(DOCTOR_COLUMNS)
            .values_panic([
                d.id.clone().into(),
                d.org_code.clone().into(),
                d.name.clone().into(),
                d.registration_number.clone().into(),
                d.created_at.into(),
                d.created_by.clone().into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Removes a doctor of the given site; `NotFound` when there is none with this id there.
pub async fn delete_doctor(tx: &mut Tx, org_code: &str, id: &str) -> StoreResult<DoctorRow> {
    let row: Option<DoctorRow> = tx
        .opt(
            &Query::select()
                .columns(DOCTOR_COLUMNS)
                .from(D::Table)
                .and_where(Expr::col(D::Id).eq(id))
                .and_where(Expr::col(D::OrgCode).eq(org_code))
                .to_owned(),
        )
        .await?;
    let row = row.ok_or(StoreError::NotFound)?;
    tx.exec(
        &Query::delete()
            .from_table(D::Table)
            .and_where(Expr::col(D::Id).eq(id))
            .to_owned(),
    )
    .await?;
    Ok(row)
}

/// Sets the reservation status alone (one click; the latest click wins). Leaves the
/// profile's version alone, so a details form open at the same time still saves.
pub async fn set_reservation(
    tx: &mut Tx,
    org_code: &str,
    status: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    set_reservations(tx, &[(org_code, status)], at).await
}

/// Sets the reservation statuses of several sites (a booking system's or a municipality's
/// bulk update), as [`set_reservation`] does for one; `NotFound` if any site has no profile.
pub async fn set_reservations(
    tx: &mut Tx,
    statuses: &[(&str, &str)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    for (org_code, status) in statuses {
        let n = tx
            .exec(
                &Query::update()
                    .table(P::Table)
                    .values([
                        (P::Reservation, (*status).into()),
                        (P::ReservationAt, at.into()),
                    ])
                    .and_where(Expr::col(P::OrgCode).eq(*org_code))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

/// The vaccines (product ids) a site handles.
pub async fn vaccines(tx: &mut Tx, org_code: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = tx
        .all(
            &Query::select()
                .column(V::ProductId)
                .from(V::Table)
                .and_where(Expr::col(V::OrgCode).eq(org_code))
                .order_by(V::ProductId, Order::Asc)
                .to_owned(),
        )
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Replaces the vaccines a site handles (product ids of vaccines; the caller checks them).
pub async fn set_vaccines(tx: &mut Tx, org_code: &str, product_ids: &[String]) -> StoreResult<()> {
    tx.exec(
        &Query::delete()
            .from_table(V::Table)
            .and_where(Expr::col(V::OrgCode).eq(org_code))
            .to_owned(),
    )
    .await?;
    let pairs: Vec<(String, String)> = product_ids
        .iter()
        .map(|id| (org_code.to_owned(), id.clone()))
        .collect();
    add_vaccines(tx, &pairs).await
}

/// Adds (site, vaccine product id) pairs in batches (imports, the demo); pairs already there
/// are left as they are.
pub async fn add_vaccines(tx: &mut Tx, pairs: &[(String, String)]) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    for chunk in pairs.chunks(1000) {
        let mut q = Query::insert()
            .into_table(V::Table)
            .columns([V::OrgCode, V::ProductId])
            .on_conflict(
                OnConflict::columns([V::OrgCode, V::ProductId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        for (site, product) in chunk {
            q.values_panic([site.clone().into(), product.clone().into()]);
        }
        tx.exec(&q).await?;
    }
    Ok(())
}

/// Every (site, vaccine product id) pair (for the public snapshot).
pub async fn all_vaccines(tx: &mut Tx) -> StoreResult<Vec<(String, String)>> {
    tx.all(
        &Query::select()
            .columns([V::OrgCode, V::ProductId])
            .from(V::Table)
            .to_owned(),
    )
    .await
}

/// A site as the public sees it: its organisation's name and place and the public fields of
/// its profile — never a representative, doctors, accounts, stock or results.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct PublicRow {
    pub code: String,
    #[sqlx(try_from = "String")]
    pub kind: vsys_domain::OrgKind,
    pub name: String,
    pub municipality_code: Option<String>,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub hours: Option<String>,
    pub accepts_non_regular: bool,
    pub access: Option<String>,
    pub parking: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub booking: Option<String>,
    pub booking_url: Option<String>,
    #[sqlx(try_from = "String")]
    pub reservation: vsys_domain::site::Reservation,
    pub reservation_at: Option<DateTime<Utc>>,
}

/// Every site the public may see — municipal sites and institutions that are contracted and
/// that their municipality confirmed — in path order (by municipality). One statement: the
/// public site's snapshot is built from it.
///
/// The rule is `vsys_domain::site::Publicity::of` (contracted, and confirmed when an
/// institution) written as SQL; keep the two the same.
pub async fn public_rows(tx: &mut Tx) -> StoreResult<Vec<PublicRow>> {
    use crate::schema::Orgs as O;
    use sea_query::Alias;
    use vsys_domain::OrgKind;
    use vsys_domain::site::ContractStatus;
    let mut q = Query::select();
    q.columns([O::Code, O::Kind, O::Name].map(|c| (O::Table, c)))
        .expr_as(
            Expr::col((O::Table, O::ParentCode)),
            Alias::new("municipality_code"),
        )
        .columns(
            [
                P::PostalCode,
                P::Address,
                P::Phone,
                P::Website,
                P::Hours,
                P::AcceptsNonRegular,
                P::Access,
                P::Parking,
                P::Latitude,
                P::Longitude,
                P::Booking,
                P::BookingUrl,
                P::Reservation,
                P::ReservationAt,
            ]
            .map(|c| (P::Table, c)),
        )
        .from(P::Table)
        .inner_join(
            O::Table,
            Expr::col((O::Table, O::Code)).equals((P::Table, P::OrgCode)),
        )
        .and_where(Expr::col((P::Table, P::ContractStatus)).eq(ContractStatus::Contracted.as_str()))
        .cond_where(
            sea_query::Cond::any()
                .add(Expr::col((O::Table, O::Kind)).eq(OrgKind::Site.as_str()))
                .add(
                    sea_query::Cond::all()
                        .add(Expr::col((O::Table, O::Kind)).eq(OrgKind::Institution.as_str()))
                        .add(Expr::col((P::Table, P::ConfirmedAt)).is_not_null()),
                ),
        )
        .order_by((O::Table, O::Path), Order::Asc);
    tx.all(&q).await
}
