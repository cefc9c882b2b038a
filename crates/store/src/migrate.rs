//! Embedded migrations, each written once with sea-query's schema builder and rendered for the
//! backend in use. Applied in order inside one transaction each; the version table records
//! what ran.

use crate::db::{Backend, Db, Tx};
use crate::error::StoreResult;
use crate::schema::*;
use sea_query::{
    ColumnDef, ForeignKey, ForeignKeyAction, Index, IndexCreateStatement, PostgresQueryBuilder,
    Query, SqliteQueryBuilder, Table, TableAlterStatement, TableCreateStatement,
};

/// One schema step.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub tables: fn() -> Vec<TableCreateStatement>,
    pub indexes: fn() -> Vec<IndexCreateStatement>,
    /// Changes to tables of earlier migrations, one column each (SQLite alters one at a time),
    /// run after the new tables.
    pub alters: fn() -> Vec<TableAlterStatement>,
    /// Statements for PostgreSQL alone, run before the indexes (e.g. a column's collation:
    /// SQLite compares text bytewise already).
    pub postgres: &'static [&'static str],
}

fn id(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .string()
        .not_null()
        .primary_key()
        .to_owned()
}
fn text(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c).text().not_null().to_owned()
}
fn text_null(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c).text().null().to_owned()
}
fn int(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}
fn int_null(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c).big_integer().null().to_owned()
}
fn flag(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}
fn time(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}
fn time_null(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn foundation_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Orgs::Table)
            .col(ColumnDef::new(Orgs::Code).string().not_null().primary_key())
            .col(text(Orgs::Kind))
            .col(text(Orgs::Name))
            .col(text_null(Orgs::NameEn))
            .col(ColumnDef::new(Orgs::ParentCode).string().null())
            .col(ColumnDef::new(Orgs::Path).string().not_null().unique_key())
            .col(text_null(Orgs::PrefectureCode))
            .col(int_null(Orgs::Population))
            .col(ColumnDef::new(Orgs::Lat).double().null())
            .col(ColumnDef::new(Orgs::Lng).double().null())
            .col(time(Orgs::CreatedAt))
            .col(time(Orgs::UpdatedAt))
            .col(int(Orgs::Version))
            .foreign_key(
                ForeignKey::create()
                    .from(Orgs::Table, Orgs::ParentCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .to_owned(),
        Table::create()
            .table(OrgAreas::Table)
            .col(ColumnDef::new(OrgAreas::OrgCode).string().not_null())
            .col(ColumnDef::new(OrgAreas::AreaCode).string().not_null())
            .primary_key(
                Index::create()
                    .col(OrgAreas::OrgCode)
                    .col(OrgAreas::AreaCode),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(OrgAreas::Table, OrgAreas::OrgCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(OrgAreas::Table, OrgAreas::AreaCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .to_owned(),
        Table::create()
            .table(PostalCodes::Table)
            .col(ColumnDef::new(PostalCodes::PostalCode).string().not_null())
            .col(
                ColumnDef::new(PostalCodes::MunicipalityCode)
                    .string()
                    .not_null(),
            )
            .primary_key(
                Index::create()
                    .col(PostalCodes::PostalCode)
                    .col(PostalCodes::MunicipalityCode),
            )
            .to_owned(),
        Table::create()
            .table(Users::Table)
            .col(id(Users::Id))
            .col(ColumnDef::new(Users::OrgCode).string().not_null())
            .col(
                ColumnDef::new(Users::Email)
                    .string()
                    .not_null()
                    .unique_key(),
            )
            .col(text(Users::Name))
            .col(text(Users::Role))
            .col(text(Users::PasswordHash))
            .col(flag(Users::MustChangePassword))
            .col(text_null(Users::TotpSecret))
            .col(int_null(Users::TotpLastStep))
            .col(flag(Users::Disabled))
            .col(flag(Users::Locked))
            .col(time_null(Users::LastLoginAt))
            .col(time(Users::CreatedAt))
            .col(time(Users::UpdatedAt))
            .col(int(Users::Version))
            .foreign_key(
                ForeignKey::create()
                    .from(Users::Table, Users::OrgCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .to_owned(),
        Table::create()
            .table(Sessions::Table)
            .col(id(Sessions::IdHash))
            .col(ColumnDef::new(Sessions::UserId).string().not_null())
            .col(text(Sessions::Kind))
            .col(text(Sessions::Stage))
            .col(text(Sessions::CsrfToken))
            .col(text_null(Sessions::Ip))
            .col(time(Sessions::CreatedAt))
            .col(time(Sessions::LastSeenAt))
            .col(time(Sessions::ExpiresAt))
            .foreign_key(
                ForeignKey::create()
                    .from(Sessions::Table, Sessions::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
        Table::create()
            .table(LoginThrottle::Table)
            .col(id(LoginThrottle::Key))
            .col(int(LoginThrottle::Failures))
            .col(time(LoginThrottle::WindowStart))
            .col(time_null(LoginThrottle::BlockedUntil))
            .to_owned(),
        Table::create()
            .table(AuditLog::Table)
            // The chain position is the key; the UUID is an external name only.
            .col(ColumnDef::new(AuditLog::Id).string().not_null())
            .col(ColumnDef::new(AuditLog::Partition).string().not_null())
            .col(ColumnDef::new(AuditLog::Seq).big_integer().not_null())
            .col(time(AuditLog::At))
            .col(text_null(AuditLog::ActorUser))
            .col(text_null(AuditLog::ActorOrg))
            .col(text_null(AuditLog::Ip))
            .col(ColumnDef::new(AuditLog::Action).string().not_null())
            .col(ColumnDef::new(AuditLog::ObjectType).string().not_null())
            .col(ColumnDef::new(AuditLog::ObjectId).string().not_null())
            .col(text_null(AuditLog::Before))
            .col(text_null(AuditLog::After))
            .col(text(AuditLog::Hash))
            .primary_key(Index::create().col(AuditLog::Partition).col(AuditLog::Seq))
            .to_owned(),
        Table::create()
            .table(AuditHeads::Table)
            .col(
                ColumnDef::new(AuditHeads::Partition)
                    .string()
                    .not_null()
                    .primary_key(),
            )
            .col(int(AuditHeads::Seq))
            .col(text(AuditHeads::Hash))
            .to_owned(),
        Table::create()
            .table(Notices::Table)
            .col(id(Notices::Id))
            .col(ColumnDef::new(Notices::OrgCode).string().not_null())
            .col(ColumnDef::new(Notices::UserId).string().null())
            .col(text(Notices::Category))
            .col(text(Notices::TitleJa))
            .col(text(Notices::TitleEn))
            .col(text(Notices::BodyJa))
            .col(text(Notices::BodyEn))
            .col(text_null(Notices::Link))
            .col(time(Notices::CreatedAt))
            .col(text_null(Notices::CreatedBy))
            .foreign_key(
                ForeignKey::create()
                    .from(Notices::Table, Notices::OrgCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .to_owned(),
        Table::create()
            .table(NoticeReads::Table)
            .col(ColumnDef::new(NoticeReads::NoticeId).string().not_null())
            .col(ColumnDef::new(NoticeReads::UserId).string().not_null())
            .col(time(NoticeReads::ReadAt))
            .primary_key(
                Index::create()
                    .col(NoticeReads::NoticeId)
                    .col(NoticeReads::UserId),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(NoticeReads::Table, NoticeReads::NoticeId)
                    .to(Notices::Table, Notices::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
        Table::create()
            .table(Outbox::Table)
            .col(id(Outbox::Id))
            .col(text(Outbox::ToAddr))
            .col(text(Outbox::Subject))
            .col(text(Outbox::Body))
            .col(time(Outbox::CreatedAt))
            .col(int(Outbox::Attempts))
            .col(time(Outbox::NextAttemptAt))
            .col(text_null(Outbox::LockedBy))
            .col(time_null(Outbox::LockedUntil))
            .col(time_null(Outbox::SentAt))
            .col(text_null(Outbox::LastError))
            .to_owned(),
    ]
}

fn foundation_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("orgs_parent")
            .table(Orgs::Table)
            .col(Orgs::ParentCode)
            .to_owned(),
        Index::create()
            .name("orgs_kind")
            .table(Orgs::Table)
            .col(Orgs::Kind)
            .col(Orgs::Code)
            .to_owned(),
        Index::create()
            .name("postal_muni")
            .table(PostalCodes::Table)
            .col(PostalCodes::MunicipalityCode)
            .to_owned(),
        Index::create()
            .name("users_org")
            .table(Users::Table)
            .col(Users::OrgCode)
            .to_owned(),
        Index::create()
            .name("sessions_user")
            .table(Sessions::Table)
            .col(Sessions::UserId)
            .to_owned(),
        Index::create()
            .name("sessions_expiry")
            .table(Sessions::Table)
            .col(Sessions::ExpiresAt)
            .to_owned(),
        Index::create()
            .name("audit_at")
            .table(AuditLog::Table)
            .col(AuditLog::At)
            .to_owned(),
        Index::create()
            .name("audit_object")
            .table(AuditLog::Table)
            .col(AuditLog::ObjectType)
            .col(AuditLog::ObjectId)
            .to_owned(),
        Index::create()
            .name("notices_org")
            .table(Notices::Table)
            .col(Notices::OrgCode)
            .col(Notices::CreatedAt)
            .to_owned(),
        Index::create()
            .name("outbox_due")
            .table(Outbox::Table)
            .col(Outbox::SentAt)
            .col(Outbox::NextAttemptAt)
            .to_owned(),
    ]
}

fn date(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c).date().not_null().to_owned()
}

fn allocation_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Products::Table)
            .col(id(Products::Id))
            .col(text(Products::Kind))
            .col(ColumnDef::new(Products::OwnerCode).string().not_null())
            .col(text(Products::Name))
            .col(text_null(Products::Spec))
            .col(text_null(Products::StorageClass))
            .col(int_null(Products::DaysAfterThaw))
            .col(flag(Products::NeedsDryIce))
            .col(int_null(Products::UnitsPerPack))
            .col(time(Products::CreatedAt))
            .col(time(Products::UpdatedAt))
            .col(int(Products::Version))
            .foreign_key(
                ForeignKey::create()
                    .from(Products::Table, Products::OwnerCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .to_owned(),
        Table::create()
            .table(Presentations::Table)
            .col(ColumnDef::new(Presentations::ProductId).string().not_null())
            .col(
                ColumnDef::new(Presentations::FromCycle)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Presentations::DosesPerVial)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Presentations::VialsPerBox)
                    .big_integer()
                    .not_null(),
            )
            .primary_key(
                Index::create()
                    .col(Presentations::ProductId)
                    .col(Presentations::FromCycle),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Presentations::Table, Presentations::ProductId)
                    .to(Products::Table, Products::Id),
            )
            .to_owned(),
        Table::create()
            .table(SupplyRules::Table)
            .col(id(SupplyRules::Id))
            .col(int(SupplyRules::NeedlesPerDoseMilli))
            .col(int(SupplyRules::SyringesPerDoseMilli))
            .col(text(SupplyRules::PackRounding))
            .col(int(SupplyRules::DryIceGramsUltraCold))
            .col(int(SupplyRules::DryIceGramsFrozen))
            .col(time(SupplyRules::UpdatedAt))
            .col(int(SupplyRules::Version))
            .to_owned(),
        Table::create()
            .table(Cycles::Table)
            .col(id(Cycles::Id))
            .col(ColumnDef::new(Cycles::Number).big_integer().not_null())
            .col(
                ColumnDef::new(Cycles::Name)
                    .string()
                    .not_null()
                    .unique_key(),
            )
            .col(ColumnDef::new(Cycles::VaccineId).string().not_null())
            .col(ColumnDef::new(Cycles::NeedleId).string().null())
            .col(ColumnDef::new(Cycles::SyringeId).string().null())
            .col(date(Cycles::PeriodStart))
            .col(date(Cycles::PeriodEnd))
            .col(date(Cycles::DeadlinePrefecture))
            .col(date(Cycles::DeadlineMunicipality))
            .col(date(Cycles::DeadlineSite))
            .col(text(Cycles::Chain))
            .col(
                ColumnDef::new(Cycles::DosesPerVial)
                    .big_integer()
                    .not_null(),
            )
            .col(ColumnDef::new(Cycles::VialsPerBox).big_integer().not_null())
            .col(text(Cycles::UnitSite))
            .col(text(Cycles::Formulas))
            .col(time(Cycles::CreatedAt))
            .col(time(Cycles::UpdatedAt))
            .col(int(Cycles::Version))
            .foreign_key(
                ForeignKey::create()
                    .from(Cycles::Table, Cycles::VaccineId)
                    .to(Products::Table, Products::Id),
            )
            .to_owned(),
        Table::create()
            .table(CycleSupply::Table)
            .col(ColumnDef::new(CycleSupply::CycleId).string().not_null())
            .col(
                ColumnDef::new(CycleSupply::SupplierCode)
                    .string()
                    .not_null(),
            )
            .col(ColumnDef::new(CycleSupply::ProductId).string().not_null())
            .col(
                ColumnDef::new(CycleSupply::Quantity)
                    .big_integer()
                    .not_null(),
            )
            .col(time(CycleSupply::UpdatedAt))
            .primary_key(
                Index::create()
                    .col(CycleSupply::CycleId)
                    .col(CycleSupply::SupplierCode)
                    .col(CycleSupply::ProductId),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(CycleSupply::Table, CycleSupply::CycleId)
                    .to(Cycles::Table, Cycles::Id),
            )
            .to_owned(),
        Table::create()
            .table(AllocationNodes::Table)
            .col(id(AllocationNodes::Id))
            .col(ColumnDef::new(AllocationNodes::CycleId).string().not_null())
            .col(ColumnDef::new(AllocationNodes::OrgCode).string().not_null())
            .col(ColumnDef::new(AllocationNodes::ParentId).string().null())
            .col(text(AllocationNodes::Level))
            .col(ColumnDef::new(AllocationNodes::Path).string().not_null())
            .col(int(AllocationNodes::Vials))
            .col(int(AllocationNodes::Needles))
            .col(int(AllocationNodes::Syringes))
            .col(text(AllocationNodes::Status))
            .col(flag(AllocationNodes::Released))
            .col(text_null(AllocationNodes::Explanation))
            .col(time(AllocationNodes::UpdatedAt))
            .col(text_null(AllocationNodes::UpdatedBy))
            .col(int(AllocationNodes::Version))
            .foreign_key(
                ForeignKey::create()
                    .from(AllocationNodes::Table, AllocationNodes::CycleId)
                    .to(Cycles::Table, Cycles::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(AllocationNodes::Table, AllocationNodes::OrgCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .to_owned(),
    ]
}

fn allocation_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("cycles_number")
            .table(Cycles::Table)
            .col(Cycles::Number)
            .to_owned(),
        Index::create()
            .name("nodes_cycle_org")
            .table(AllocationNodes::Table)
            .col(AllocationNodes::CycleId)
            .col(AllocationNodes::OrgCode)
            .unique()
            .to_owned(),
        Index::create()
            .name("nodes_parent")
            .table(AllocationNodes::Table)
            .col(AllocationNodes::ParentId)
            .to_owned(),
    ]
}

fn site_request_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(SiteRequests::Table)
            .col(ColumnDef::new(SiteRequests::CycleId).string().not_null())
            .col(ColumnDef::new(SiteRequests::OrgCode).string().not_null())
            .col(int(SiteRequests::CapacityDoses))
            .col(int(SiteRequests::RequestedDoses))
            .col(text(SiteRequests::Storage))
            .col(int(SiteRequests::Needles))
            .col(int(SiteRequests::Syringes))
            .col(time(SiteRequests::UpdatedAt))
            .col(text_null(SiteRequests::UpdatedBy))
            .col(int(SiteRequests::Version))
            .primary_key(
                Index::create()
                    .col(SiteRequests::CycleId)
                    .col(SiteRequests::OrgCode),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(SiteRequests::Table, SiteRequests::CycleId)
                    .to(Cycles::Table, Cycles::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(SiteRequests::Table, SiteRequests::OrgCode)
                    .to(Orgs::Table, Orgs::Code),
            )
            .to_owned(),
    ]
}

fn string(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c).string().not_null().to_owned()
}
fn string_null(c: impl sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c).string().null().to_owned()
}
fn org_fk<T: sea_query::IntoIden + Copy + 'static>(
    table: T,
    col: T,
) -> sea_query::ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Orgs::Table, Orgs::Code)
        .to_owned()
}

fn site_tables() -> Vec<TableCreateStatement> {
    use SiteProfiles as P;
    vec![
        Table::create()
            .table(P::Table)
            .col(ColumnDef::new(P::OrgCode).string().not_null().primary_key())
            .col(text_null(P::FacilityCode))
            .col(text_null(P::PostalCode))
            .col(text_null(P::Address))
            .col(text_null(P::Representative))
            .col(text(P::ContractStatus))
            .col(text(P::SiteType))
            .col(string_null(P::HubCode))
            .col(text_null(P::Phone))
            .col(text_null(P::Website))
            .col(text_null(P::Hours))
            .col(text_null(P::Vaccines))
            .col(flag(P::AcceptsNonRegular))
            .col(text_null(P::Access))
            .col(text_null(P::Parking))
            .col(int(P::FreezersUltraCold))
            .col(int(P::FreezersMinus20))
            .col(text_null(P::StorageLocation))
            .col(time_null(P::DetailsAt))
            .col(time_null(P::ConfirmedAt))
            .col(text_null(P::ConfirmedBy))
            .col(text(P::Reservation))
            .col(time_null(P::ReservationAt))
            .col(time(P::UpdatedAt))
            .col(text_null(P::UpdatedBy))
            .col(int(P::Version))
            .foreign_key(&mut org_fk(P::Table, P::OrgCode))
            .to_owned(),
        Table::create()
            .table(SiteChanges::Table)
            .col(id(SiteChanges::Id))
            .col(string(SiteChanges::OrgCode))
            .col(text(SiteChanges::Before))
            .col(text(SiteChanges::After))
            .col(text(SiteChanges::Status))
            .col(time(SiteChanges::RequestedAt))
            .col(text_null(SiteChanges::RequestedBy))
            .col(time_null(SiteChanges::DecidedAt))
            .col(text_null(SiteChanges::DecidedBy))
            .foreign_key(&mut org_fk(SiteChanges::Table, SiteChanges::OrgCode))
            .to_owned(),
        Table::create()
            .table(Doctors::Table)
            .col(id(Doctors::Id))
            .col(string(Doctors::OrgCode))
            .col(text(Doctors::Name))
            .col(text_null(Doctors::RegistrationNumber))
            .col(time(Doctors::CreatedAt))
            .col(text_null(Doctors::CreatedBy))
            .foreign_key(&mut org_fk(Doctors::Table, Doctors::OrgCode))
            .to_owned(),
        Table::create()
            .table(ReportingPeriods::Table)
            .col(id(ReportingPeriods::Id))
            .col(date(ReportingPeriods::FirstDay))
            .col(date(ReportingPeriods::LastDay))
            .col(time(ReportingPeriods::OpenedAt))
            .col(text_null(ReportingPeriods::OpenedBy))
            .col(time_null(ReportingPeriods::ClosedAt))
            .col(text_null(ReportingPeriods::ClosedBy))
            .to_owned(),
        Table::create()
            .table(DailyResults::Table)
            .col(string(DailyResults::OrgCode))
            .col(date(DailyResults::Day))
            .col(int(DailyResults::Total))
            .col(int(DailyResults::Elderly))
            .col(int(DailyResults::Underlying))
            .col(int(DailyResults::Others))
            .col(int(DailyResults::WastedVials))
            .col(text_null(DailyResults::WasteReason))
            .col(time(DailyResults::UpdatedAt))
            .col(text_null(DailyResults::UpdatedBy))
            .col(int(DailyResults::Version))
            .primary_key(
                Index::create()
                    .col(DailyResults::OrgCode)
                    .col(DailyResults::Day),
            )
            .foreign_key(&mut org_fk(DailyResults::Table, DailyResults::OrgCode))
            .to_owned(),
        Table::create()
            .table(StockLedger::Table)
            .col(id(StockLedger::Id))
            .col(string(StockLedger::OrgCode))
            .col(string(StockLedger::Lot))
            .col(string_null(StockLedger::CycleId))
            .col(text(StockLedger::Kind))
            .col(int(StockLedger::Vials))
            .col(int(StockLedger::Doses))
            .col(int(StockLedger::DosesPerVial))
            .col(text_null(StockLedger::Reason))
            .col(text_null(StockLedger::Note))
            .col(string_null(StockLedger::Reference))
            .col(string_null(StockLedger::Reverses))
            .col(time(StockLedger::At))
            .col(text_null(StockLedger::By))
            .foreign_key(&mut org_fk(StockLedger::Table, StockLedger::OrgCode))
            .to_owned(),
    ]
}

fn site_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("site_changes_org")
            .table(SiteChanges::Table)
            .col(SiteChanges::OrgCode)
            .col(SiteChanges::Status)
            .to_owned(),
        Index::create()
            .name("doctors_org")
            .table(Doctors::Table)
            .col(Doctors::OrgCode)
            .to_owned(),
        Index::create()
            .name("stock_ledger_org")
            .table(StockLedger::Table)
            .col(StockLedger::OrgCode)
            .col(StockLedger::At)
            .to_owned(),
        Index::create()
            .name("stock_ledger_reverses")
            .table(StockLedger::Table)
            .col(StockLedger::Reverses)
            .unique()
            .to_owned(),
        Index::create()
            .name("daily_results_day")
            .table(DailyResults::Table)
            .col(DailyResults::Day)
            .to_owned(),
    ]
}

fn delivery_tables() -> Vec<TableCreateStatement> {
    use Deliveries as D;
    vec![
        Table::create()
            .table(D::Table)
            .col(id(D::Id))
            .col(string(D::CycleId))
            .col(string(D::NodeId))
            .col(string(D::SiteCode))
            .col(string(D::SitePath))
            .col(string(D::MunicipalityCode))
            .col(string(D::Item))
            .col(string_null(D::ProductId))
            .col(int(D::Quantity))
            .col(string(D::DelivererCode))
            .col(ColumnDef::new(D::ScheduledOn).date().null())
            .col(ColumnDef::new(D::DeliveredOn).date().null())
            .col(text_null(D::DeliveryNumber))
            .col(text_null(D::Lot))
            .col(text_null(D::Note))
            .col(text_null(D::Storage))
            .col(time(D::UpdatedAt))
            .col(text_null(D::UpdatedBy))
            .col(int(D::Version))
            .foreign_key(
                ForeignKey::create()
                    .from(D::Table, D::CycleId)
                    .to(Cycles::Table, Cycles::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(D::Table, D::NodeId)
                    .to(AllocationNodes::Table, AllocationNodes::Id),
            )
            .foreign_key(&mut org_fk(D::Table, D::SiteCode))
            .foreign_key(&mut org_fk(D::Table, D::DelivererCode))
            .to_owned(),
        Table::create()
            .table(ApiTokens::Table)
            .col(id(ApiTokens::Id))
            .col(string(ApiTokens::OrgCode))
            .col(text(ApiTokens::Name))
            .col(
                ColumnDef::new(ApiTokens::TokenHash)
                    .string()
                    .not_null()
                    .unique_key(),
            )
            .col(time(ApiTokens::CreatedAt))
            .col(text_null(ApiTokens::CreatedBy))
            .col(time_null(ApiTokens::RevokedAt))
            .col(time_null(ApiTokens::LastUsedAt))
            .foreign_key(&mut org_fk(ApiTokens::Table, ApiTokens::OrgCode))
            .to_owned(),
        Table::create()
            .table(DelivererProfiles::Table)
            .col(
                ColumnDef::new(DelivererProfiles::OrgCode)
                    .string()
                    .not_null()
                    .primary_key(),
            )
            .col(text_null(DelivererProfiles::PostalCode))
            .col(text_null(DelivererProfiles::Address))
            .col(text_null(DelivererProfiles::Phone))
            .col(text_null(DelivererProfiles::Contact))
            .col(text_null(DelivererProfiles::Email))
            .col(time(DelivererProfiles::UpdatedAt))
            .col(text_null(DelivererProfiles::UpdatedBy))
            .col(int(DelivererProfiles::Version))
            .foreign_key(&mut org_fk(
                DelivererProfiles::Table,
                DelivererProfiles::OrgCode,
            ))
            .to_owned(),
        Table::create()
            .table(DelivererInbound::Table)
            .col(id(DelivererInbound::Id))
            .col(string(DelivererInbound::OrgCode))
            .col(string(DelivererInbound::CycleId))
            .col(string(DelivererInbound::Item))
            .col(int(DelivererInbound::Quantity))
            .col(date(DelivererInbound::ReceivedOn))
            .col(time(DelivererInbound::At))
            .col(text_null(DelivererInbound::By))
            .foreign_key(&mut org_fk(
                DelivererInbound::Table,
                DelivererInbound::OrgCode,
            ))
            .foreign_key(
                ForeignKey::create()
                    .from(DelivererInbound::Table, DelivererInbound::CycleId)
                    .to(Cycles::Table, Cycles::Id),
            )
            .to_owned(),
    ]
}

fn job_tables() -> Vec<TableCreateStatement> {
    use Jobs as J;
    vec![
        Table::create()
            .table(J::Table)
            .col(id(J::Id))
            .col(string(J::Kind))
            .col(string(J::UserId))
            .col(string(J::OrgCode))
            .col(string(J::Phase))
            .col(int(J::Done))
            .col(int(J::Total))
            .col(text_null(J::Outcome))
            .col(text_null(J::ErrorJa))
            .col(text_null(J::ErrorEn))
            .col(time(J::StartedAt))
            .col(time(J::UpdatedAt))
            .col(time_null(J::FinishedAt))
            .to_owned(),
    ]
}

fn coordination_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Leases::Table)
            .col(id(Leases::Name))
            .col(string(Leases::Holder))
            .col(time(Leases::ExpiresAt))
            .to_owned(),
        Table::create()
            .table(Changes::Table)
            .col(id(Changes::Topic))
            .col(int(Changes::Version))
            .to_owned(),
    ]
}

fn job_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("jobs_updated")
            .table(Jobs::Table)
            .col(Jobs::UpdatedAt)
            .to_owned(),
    ]
}

fn delivery_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("deliveries_node_item")
            .table(Deliveries::Table)
            .col(Deliveries::NodeId)
            .col(Deliveries::Item)
            .unique()
            .to_owned(),
        Index::create()
            .name("deliveries_deliverer")
            .table(Deliveries::Table)
            .col(Deliveries::DelivererCode)
            .col(Deliveries::CycleId)
            .to_owned(),
        Index::create()
            .name("deliveries_site")
            .table(Deliveries::Table)
            .col(Deliveries::SiteCode)
            .to_owned(),
        Index::create()
            .name("deliveries_cycle_path")
            .table(Deliveries::Table)
            .col(Deliveries::CycleId)
            .col(Deliveries::SitePath)
            .to_owned(),
    ]
}

fn no_tables() -> Vec<TableCreateStatement> {
    vec![]
}

fn national_read_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("nodes_cycle_path")
            .table(AllocationNodes::Table)
            .col(AllocationNodes::CycleId)
            .col(AllocationNodes::Path)
            .to_owned(),
        Index::create()
            .name("orgs_parent_code")
            .table(Orgs::Table)
            .col(Orgs::ParentCode)
            .col(Orgs::Code)
            .to_owned(),
        Index::create()
            .name("audit_action_at")
            .table(AuditLog::Table)
            .col(AuditLog::Action)
            .col(AuditLog::At)
            .to_owned(),
        Index::create()
            .name("audit_actor_at")
            .table(AuditLog::Table)
            .col(AuditLog::ActorUser)
            .col(AuditLog::At)
            .to_owned(),
    ]
}

fn scoped_list_indexes() -> Vec<IndexCreateStatement> {
    vec![
        // A scoped list of one kind (a prefecture's institutions, a municipality's sites):
        // the kind, then the scope's path range, in one index on both databases. Without it
        // SQLite filters every organisation of the kind in the country (`orgs_kind`).
        Index::create()
            .name("orgs_kind_path")
            .table(Orgs::Table)
            .col(Orgs::Kind)
            .col(Orgs::Path)
            .to_owned(),
    ]
}

fn no_indexes() -> Vec<IndexCreateStatement> {
    vec![]
}

fn no_alters() -> Vec<TableAlterStatement> {
    vec![]
}

fn public_site_tables() -> Vec<TableCreateStatement> {
    vec![
        // The vaccines a site handles, as references to the product master.
        Table::create()
            .table(SiteVaccines::Table)
            .col(string(SiteVaccines::OrgCode))
            .col(string(SiteVaccines::ProductId))
            .primary_key(
                Index::create()
                    .col(SiteVaccines::OrgCode)
                    .col(SiteVaccines::ProductId),
            )
            .foreign_key(&mut org_fk(SiteVaccines::Table, SiteVaccines::OrgCode))
            .foreign_key(
                &mut ForeignKey::create()
                    .from(SiteVaccines::Table, SiteVaccines::ProductId)
                    .to(Products::Table, Products::Id)
                    .on_delete(ForeignKeyAction::Restrict)
                    .to_owned(),
            )
            .to_owned(),
    ]
}

fn public_site_alters() -> Vec<TableAlterStatement> {
    use SiteProfiles as P;
    let add = |c: ColumnDef| Table::alter().table(P::Table).add_column(c).to_owned();
    vec![
        add(ColumnDef::new(P::Latitude).double().null().to_owned()),
        add(ColumnDef::new(P::Longitude).double().null().to_owned()),
        add(text_null(P::Booking)),
        add(text_null(P::BookingUrl)),
        // Vaccines were free text; they are references now (`site_vaccines`).
        Table::alter()
            .table(P::Table)
            .drop_column(P::Vaccines)
            .to_owned(),
        // Who a notice is for: `staff` (an organisation's users, as before) or `citizens`
        // (the public site's notices, FAQ and guide, written by the nation).
        Table::alter()
            .table(Notices::Table)
            .add_column(
                ColumnDef::new(Notices::Audience)
                    .text()
                    .not_null()
                    .default("staff")
                    .to_owned(),
            )
            .to_owned(),
    ]
}

fn public_site_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("notices_audience_created")
            .table(Notices::Table)
            .col(Notices::Audience)
            .col(Notices::CreatedAt)
            .to_owned(),
    ]
}

fn knowledge_tables() -> Vec<TableCreateStatement> {
    let article_fk = |from: ArticleTerms| {
        ForeignKey::create()
            .from(ArticleTerms::Table, from)
            .to(Articles::Table, Articles::Id)
            .on_delete(ForeignKeyAction::Cascade)
            .to_owned()
    };
    vec![
        Table::create()
            .table(Articles::Table)
            .col(id(Articles::Id))
            .col(string(Articles::Category))
            // The kinds of organisation it is for, `,`-joined; empty: every kind.
            .col(text(Articles::Readers))
            .col(text(Articles::Title))
            .col(text(Articles::Body))
            .col(string(Articles::SortKey))
            .col(time(Articles::CreatedAt))
            .col(time(Articles::UpdatedAt))
            .col(string_null(Articles::UpdatedBy))
            .col(int(Articles::Version))
            .to_owned(),
        Table::create()
            .table(ArticleTerms::Table)
            .col(string(ArticleTerms::ArticleId))
            .col(string(ArticleTerms::Term))
            .primary_key(
                Index::create()
                    .col(ArticleTerms::ArticleId)
                    .col(ArticleTerms::Term),
            )
            .foreign_key(&mut article_fk(ArticleTerms::ArticleId))
            .to_owned(),
        Table::create()
            .table(Attachments::Table)
            .col(id(Attachments::Id))
            .col(string(Attachments::ArticleId))
            .col(text(Attachments::Filename))
            .col(string(Attachments::Kind))
            .col(int(Attachments::Size))
            .col(
                ColumnDef::new(Attachments::Content)
                    .blob()
                    .not_null()
                    .to_owned(),
            )
            .col(time(Attachments::CreatedAt))
            .col(string_null(Attachments::CreatedBy))
            .foreign_key(
                &mut ForeignKey::create()
                    .from(Attachments::Table, Attachments::ArticleId)
                    .to(Articles::Table, Articles::Id)
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
            )
            .to_owned(),
    ]
}

fn knowledge_indexes() -> Vec<IndexCreateStatement> {
    vec![
        // A search looks a term up and collects its articles.
        Index::create()
            .name("article_terms_term")
            .table(ArticleTerms::Table)
            .col(ArticleTerms::Term)
            .col(ArticleTerms::ArticleId)
            .to_owned(),
        Index::create()
            .name("articles_category_sort")
            .table(Articles::Table)
            .col(Articles::Category)
            .col(Articles::SortKey)
            .to_owned(),
        Index::create()
            .name("attachments_article")
            .table(Attachments::Table)
            .col(Attachments::ArticleId)
            .to_owned(),
    ]
}

fn rollup_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(ResultRollups::Table)
            .col(date(ResultRollups::Day))
            .col(string(ResultRollups::MunicipalityCode))
            .col(int(ResultRollups::Reports))
            .col(int(ResultRollups::Total))
            .col(int(ResultRollups::Elderly))
            .col(int(ResultRollups::Underlying))
            .col(int(ResultRollups::Others))
            .col(int(ResultRollups::WastedVials))
            .primary_key(
                Index::create()
                    .col(ResultRollups::Day)
                    .col(ResultRollups::MunicipalityCode),
            )
            .to_owned(),
        Table::create()
            .table(StockRollups::Table)
            .col(date(StockRollups::Day))
            .col(string(StockRollups::MunicipalityCode))
            // '' for entries of no cycle.
            .col(string(StockRollups::CycleId))
            .col(string(StockRollups::Kind))
            .col(int(StockRollups::Entries))
            .col(int(StockRollups::Vials))
            .col(int(StockRollups::Doses))
            .primary_key(
                Index::create()
                    .col(StockRollups::Day)
                    .col(StockRollups::MunicipalityCode)
                    .col(StockRollups::CycleId)
                    .col(StockRollups::Kind),
            )
            .to_owned(),
    ]
}

fn rollup_indexes() -> Vec<IndexCreateStatement> {
    vec![
        // An area's figures: its municipalities (codes start with the prefecture's), all days.
        Index::create()
            .name("result_rollups_area")
            .table(ResultRollups::Table)
            .col(ResultRollups::MunicipalityCode)
            .col(ResultRollups::Day)
            .to_owned(),
        Index::create()
            .name("stock_rollups_area")
            .table(StockRollups::Table)
            .col(StockRollups::MunicipalityCode)
            .col(StockRollups::Day)
            .to_owned(),
    ]
}

fn dashboard_rollup_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(PrefectureResultRollups::Table)
            .col(date(PrefectureResultRollups::Day))
            .col(string(PrefectureResultRollups::PrefectureCode))
            .col(int(PrefectureResultRollups::Reports))
            .col(int(PrefectureResultRollups::Total))
            .col(int(PrefectureResultRollups::Elderly))
            .col(int(PrefectureResultRollups::Underlying))
            .col(int(PrefectureResultRollups::Others))
            .col(int(PrefectureResultRollups::WastedVials))
            .primary_key(
                Index::create()
                    .col(PrefectureResultRollups::Day)
                    .col(PrefectureResultRollups::PrefectureCode),
            )
            .to_owned(),
        Table::create()
            .table(PrefectureStockRollups::Table)
            .col(date(PrefectureStockRollups::Day))
            .col(string(PrefectureStockRollups::PrefectureCode))
            .col(string(PrefectureStockRollups::Kind))
            .col(int(PrefectureStockRollups::Entries))
            .col(int(PrefectureStockRollups::Vials))
            .col(int(PrefectureStockRollups::Doses))
            .primary_key(
                Index::create()
                    .col(PrefectureStockRollups::Day)
                    .col(PrefectureStockRollups::PrefectureCode)
                    .col(PrefectureStockRollups::Kind),
            )
            .to_owned(),
        Table::create()
            .table(DeliveryRollups::Table)
            .col(string(DeliveryRollups::CycleId))
            .col(string(DeliveryRollups::DelivererCode))
            .col(string(DeliveryRollups::MunicipalityCode))
            // The 納入予定日 as YYYY-MM-DD, '' while there is none.
            .col(string(DeliveryRollups::PlannedOn))
            .col(int(DeliveryRollups::Lines))
            .col(int(DeliveryRollups::Delivered))
            .primary_key(
                Index::create()
                    .col(DeliveryRollups::CycleId)
                    .col(DeliveryRollups::DelivererCode)
                    .col(DeliveryRollups::MunicipalityCode)
                    .col(DeliveryRollups::PlannedOn),
            )
            .to_owned(),
    ]
}

fn dashboard_rollup_indexes() -> Vec<IndexCreateStatement> {
    vec![
        // An area's lines in a cycle: its municipalities (codes start with the prefecture's).
        Index::create()
            .name("delivery_rollups_area")
            .table(DeliveryRollups::Table)
            .col(DeliveryRollups::CycleId)
            .col(DeliveryRollups::MunicipalityCode)
            .to_owned(),
    ]
}

fn notice_group_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(NoticeGroups::Table)
            .col(id(NoticeGroups::NoticeId))
            .col(ColumnDef::new(NoticeGroups::OrgCode).string().not_null())
            .col(ColumnDef::new(NoticeGroups::GroupKey).string().not_null())
            // A JSON array of the items gathered so far, in the order they came.
            .col(text(NoticeGroups::Items))
            .foreign_key(
                ForeignKey::create()
                    .from(NoticeGroups::Table, NoticeGroups::NoticeId)
                    .to(Notices::Table, Notices::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
    ]
}

fn notice_group_indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("notice_groups_org_key")
            .table(NoticeGroups::Table)
            .col(NoticeGroups::OrgCode)
            .col(NoticeGroups::GroupKey)
            .to_owned(),
    ]
}

fn reminder_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(RemindersSent::Table)
            .col(string(RemindersSent::CycleId))
            .col(string(RemindersSent::OrgCode))
            .col(date(RemindersSent::Deadline))
            .col(time(RemindersSent::SentAt))
            // `auto` (the scheduled reminder) or `manual` (the dashboard's button).
            .col(string(RemindersSent::Source))
            // The key is what makes a reminder go out once: whoever inserts it first sends it.
            .primary_key(
                Index::create()
                    .col(RemindersSent::CycleId)
                    .col(RemindersSent::OrgCode)
                    .col(RemindersSent::Deadline),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(RemindersSent::Table, RemindersSent::CycleId)
                    .to(Cycles::Table, Cycles::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
    ]
}

fn announcement_tables() -> Vec<TableCreateStatement> {
    let notice_fk = |table: Announcements, col: Announcements| {
        ForeignKey::create()
            .from(table, col)
            .to(Notices::Table, Notices::Id)
            .on_delete(ForeignKeyAction::Cascade)
            .to_owned()
    };
    vec![
        // One row per announcement, however many organisations it reaches: who reads it is
        // decided at read time from `notice_audience`.
        Table::create()
            .table(Announcements::Table)
            .col(id(Announcements::NoticeId))
            .col(time(Announcements::WrittenAt))
            .col(time_null(Announcements::ExpiresAt))
            .col(flag(Announcements::Mail))
            .col(time_null(Announcements::MailedAt))
            .col(time_null(Announcements::WithdrawnAt))
            .foreign_key(&mut notice_fk(
                Announcements::Table,
                Announcements::NoticeId,
            ))
            .to_owned(),
        Table::create()
            .table(NoticeAudience::Table)
            .col(ColumnDef::new(NoticeAudience::NoticeId).string().not_null())
            .col(ColumnDef::new(NoticeAudience::Part).string().not_null())
            .col(ColumnDef::new(NoticeAudience::Value).string().not_null())
            .primary_key(
                Index::create()
                    .col(NoticeAudience::NoticeId)
                    .col(NoticeAudience::Part)
                    .col(NoticeAudience::Value),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(NoticeAudience::Table, NoticeAudience::NoticeId)
                    .to(Notices::Table, Notices::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
    ]
}

fn reminder_indexes() -> Vec<IndexCreateStatement> {
    vec![
        // The late organisations of one level of a cycle (the scheduled reminder's read).
        Index::create()
            .name("nodes_cycle_level_status")
            .table(AllocationNodes::Table)
            .col(AllocationNodes::CycleId)
            .col(AllocationNodes::Level)
            .col(AllocationNodes::Status)
            .to_owned(),
    ]
}

fn announcement_indexes() -> Vec<IndexCreateStatement> {
    vec![
        // The scheduled step's question: announcements to mail that have not gone yet.
        Index::create()
            .name("announcements_mail")
            .table(Announcements::Table)
            .col(Announcements::Mail)
            .col(Announcements::MailedAt)
            .to_owned(),
        // A writer's sent list: its organisation's notices of one audience, newest first.
        Index::create()
            .name("notices_audience_org_created")
            .table(Notices::Table)
            .col(Notices::Audience)
            .col(Notices::OrgCode)
            .col(Notices::CreatedAt)
            .to_owned(),
    ]
}

/// All migrations, in order. Append only: never edit one that has shipped.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        tables: foundation_tables,
        indexes: foundation_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 2,
        name: "allocation",
        tables: allocation_tables,
        indexes: allocation_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 3,
        name: "site_requests",
        tables: site_request_tables,
        indexes: no_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 4,
        name: "sites",
        tables: site_tables,
        indexes: site_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 5,
        name: "delivery",
        tables: delivery_tables,
        indexes: delivery_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 6,
        name: "jobs",
        tables: job_tables,
        indexes: job_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 7,
        name: "coordination",
        tables: coordination_tables,
        indexes: no_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 8,
        name: "national_reads",
        tables: no_tables,
        indexes: national_read_indexes,
        alters: no_alters,
        // Scopes are path ranges (`path >= '/JP/13/' AND path < '/JP/130'`), which need the
        // columns to compare as bytes, as SQLite does: the "C" collation, whose index then
        // serves the range.
        postgres: &[
            r#"ALTER TABLE orgs ALTER COLUMN path TYPE varchar COLLATE "C""#,
            r#"ALTER TABLE allocation_nodes ALTER COLUMN path TYPE varchar COLLATE "C""#,
            r#"ALTER TABLE deliveries ALTER COLUMN site_path TYPE varchar COLLATE "C""#,
            r#"ALTER TABLE audit_log ALTER COLUMN action TYPE varchar COLLATE "C""#,
        ],
    },
    Migration {
        version: 9,
        name: "scoped_lists",
        tables: no_tables,
        indexes: scoped_list_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 10,
        name: "public_site",
        tables: public_site_tables,
        indexes: public_site_indexes,
        alters: public_site_alters,
        postgres: &[],
    },
    Migration {
        version: 11,
        name: "knowledge",
        tables: knowledge_tables,
        indexes: knowledge_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 12,
        name: "rollups",
        tables: rollup_tables,
        indexes: rollup_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 13,
        name: "notice_groups",
        tables: notice_group_tables,
        indexes: notice_group_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 14,
        name: "announcements",
        tables: announcement_tables,
        indexes: announcement_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 15,
        name: "reminders_sent",
        tables: reminder_tables,
        indexes: reminder_indexes,
        alters: no_alters,
        postgres: &[],
    },
    Migration {
        version: 16,
        name: "dashboard_rollups",
        tables: dashboard_rollup_tables,
        indexes: dashboard_rollup_indexes,
        alters: no_alters,
        postgres: &[],
    },
];

/// A fingerprint of the migration list, used by tests to reuse a migrated template database.
pub fn fingerprint() -> String {
    let mut s = String::new();
    for m in MIGRATIONS {
        for t in (m.tables)() {
            s.push_str(&t.to_string(SqliteQueryBuilder));
        }
        for i in (m.indexes)() {
            s.push_str(&i.to_string(SqliteQueryBuilder));
        }
        for a in (m.alters)() {
            s.push_str(&a.to_string(SqliteQueryBuilder));
        }
        for p in m.postgres {
            s.push_str(p);
        }
    }
    format!("{:016x}", fnv1a(s.as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

fn render_table(backend: Backend, t: &TableCreateStatement) -> String {
    match backend {
        Backend::Sqlite => t.to_string(SqliteQueryBuilder),
        Backend::Postgres => t.to_string(PostgresQueryBuilder),
    }
}

fn render_index(backend: Backend, i: &IndexCreateStatement) -> String {
    match backend {
        Backend::Sqlite => i.to_string(SqliteQueryBuilder),
        Backend::Postgres => i.to_string(PostgresQueryBuilder),
    }
}

/// Applies every migration not yet applied. Safe to run from several processes at once on
/// PostgreSQL (an advisory lock serialises them) and on SQLite (the write lock does).
/// Returns the versions applied now.
pub async fn run(db: &Db, now: chrono::DateTime<chrono::Utc>) -> StoreResult<Vec<i64>> {
    let mut tx = db.begin_long().await?;
    if tx.backend() == Backend::Postgres {
        tx.raw("SELECT pg_advisory_xact_lock(7215001)").await?;
    }
    let create = Table::create()
        .table(SchemaMigrations::Table)
        .if_not_exists()
        .col(
            ColumnDef::new(SchemaMigrations::Version)
                .big_integer()
                .not_null()
                .primary_key(),
        )
        .col(text(SchemaMigrations::Name))
        .col(time(SchemaMigrations::AppliedAt))
        .to_owned();
    tx.raw(&render_table(tx.backend(), &create)).await?;
    let done: Vec<(i64,)> = tx
        .all(
            &Query::select()
                .column(SchemaMigrations::Version)
                .from(SchemaMigrations::Table)
                .to_owned(),
        )
        .await?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        if done.iter().any(|(v,)| *v == m.version) {
            continue;
        }
        apply(&mut tx, m, now).await?;
        applied.push(m.version);
    }
    tx.commit().await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    Ok(applied)
}

async fn apply(tx: &mut Tx, m: &Migration, now: chrono::DateTime<chrono::Utc>) -> StoreResult<()> {
    let backend = tx.backend();
    for t in (m.tables)() {
        tx.raw(&render_table(backend, &t)).await?;
    }
    for a in (m.alters)() {
        tx.raw(&match backend {
            Backend::Sqlite => a.to_string(SqliteQueryBuilder),
            Backend::Postgres => a.to_string(PostgresQueryBuilder),
        })
        .await?;
    }
    if backend == Backend::Postgres {
        for p in m.postgres {
            tx.raw(p).await?;
        }
    }
    for i in (m.indexes)() {
        tx.raw(&render_index(backend, &i)).await?;
    }
    tx.exec(
        &Query::insert()
            .into_table(SchemaMigrations::Table)
            .columns([
                SchemaMigrations::Version,
                SchemaMigrations::Name,
                SchemaMigrations::AppliedAt,
            ])
            .values_panic([m.version.into(), m.name.into(), now.into()])
            .to_owned(),
    )
    .await?;
    Ok(())
}
