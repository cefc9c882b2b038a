//! Table and column names, shared by migrations and repositories.

use sea_query::Iden;

#[derive(Iden, Clone, Copy)]
pub enum SchemaMigrations {
    Table,
    Version,
    Name,
    AppliedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Orgs {
    Table,
    Code,
    Kind,
    Name,
    NameEn,
    ParentCode,
    Path,
    PrefectureCode,
    Population,
    Lat,
    Lng,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum OrgAreas {
    Table,
    OrgCode,
    AreaCode,
}

#[derive(Iden, Clone, Copy)]
pub enum PostalCodes {
    Table,
    PostalCode,
    MunicipalityCode,
}

#[derive(Iden, Clone, Copy)]
pub enum Users {
    Table,
    Id,
    OrgCode,
    Email,
    Name,
    Role,
    PasswordHash,
    MustChangePassword,
    TotpSecret,
    TotpLastStep,
    Disabled,
    Locked,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum Sessions {
    Table,
    IdHash,
    UserId,
    Kind,
    Stage,
    CsrfToken,
    Ip,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(Iden, Clone, Copy)]
pub enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStart,
    BlockedUntil,
}

#[derive(Iden, Clone, Copy)]
pub enum AuditLog {
    Table,
    Id,
    Partition,
    Seq,
    At,
    ActorUser,
    ActorOrg,
    Ip,
    Action,
    ObjectType,
    ObjectId,
    Before,
    After,
    Hash,
}

#[derive(Iden, Clone, Copy)]
pub enum AuditHeads {
    Table,
    Partition,
    Seq,
    Hash,
}

#[derive(Iden, Clone, Copy)]
pub enum Notices {
    Table,
    Id,
    OrgCode,
    UserId,
    Category,
    TitleJa,
    TitleEn,
    BodyJa,
    BodyEn,
    Link,
    CreatedAt,
    CreatedBy,
    Audience,
}

#[derive(Iden, Clone, Copy)]
pub enum NoticeReads {
    Table,
    NoticeId,
    UserId,
    ReadAt,
}

/// A notice that gathers the notices of one event for its organisation (e.g. "municipalities
/// confirmed" of one cycle): the key of the event and the organisations (or other items) so far.
#[derive(Iden, Clone, Copy)]
pub enum NoticeGroups {
    Table,
    NoticeId,
    OrgCode,
    GroupKey,
    Items,
}

/// An announcement (a notice of audience `announcement`): its publication window (it is
/// listed from the notice's `created_at`, its publication time, until `expires_at`), whether it
/// goes by e-mail and when it went, and its withdrawal.
#[derive(Iden, Clone, Copy)]
pub enum Announcements {
    Table,
    NoticeId,
    WrittenAt,
    ExpiresAt,
    Mail,
    MailedAt,
    WithdrawnAt,
}

/// Who an announcement is for, one row per value of a part (`kind`, `area`, `name`).
#[derive(Iden, Clone, Copy)]
pub enum NoticeAudience {
    Table,
    NoticeId,
    Part,
    Value,
}

#[derive(Iden, Clone, Copy)]
pub enum Outbox {
    Table,
    Id,
    ToAddr,
    Subject,
    Body,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    LockedBy,
    LockedUntil,
    SentAt,
    LastError,
}

#[derive(Iden, Clone, Copy)]
pub enum Products {
    Table,
    Id,
    Kind,
    OwnerCode,
    Name,
    Spec,
    StorageClass,
    DaysAfterThaw,
    NeedsDryIce,
    UnitsPerPack,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum Presentations {
    Table,
    ProductId,
    FromCycle,
    DosesPerVial,
    VialsPerBox,
}

#[derive(Iden, Clone, Copy)]
pub enum SupplyRules {
    Table,
    Id,
    NeedlesPerDoseMilli,
    SyringesPerDoseMilli,
    PackRounding,
    DryIceGramsUltraCold,
    DryIceGramsFrozen,
    UpdatedAt,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum Cycles {
    Table,
    Id,
    Number,
    Name,
    VaccineId,
    NeedleId,
    SyringeId,
    PeriodStart,
    PeriodEnd,
    DeadlinePrefecture,
    DeadlineMunicipality,
    DeadlineSite,
    Chain,
    DosesPerVial,
    VialsPerBox,
    UnitSite,
    Formulas,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum CycleSupply {
    Table,
    CycleId,
    SupplierCode,
    ProductId,
    Quantity,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum AllocationNodes {
    Table,
    Id,
    CycleId,
    OrgCode,
    ParentId,
    Level,
    Path,
    Vials,
    Needles,
    Syringes,
    Status,
    Released,
    Explanation,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// Deadline reminders already sent: one row per cycle, organisation and deadline.
#[derive(Iden, Clone, Copy)]
pub enum RemindersSent {
    Table,
    CycleId,
    OrgCode,
    Deadline,
    SentAt,
    Source,
}

#[derive(Iden, Clone, Copy)]
pub enum SiteRequests {
    Table,
    CycleId,
    OrgCode,
    CapacityDoses,
    RequestedDoses,
    Storage,
    Needles,
    Syringes,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// The registry entry and details of a site (医療機関 or 集団接種会場); name and municipality
/// live in `orgs`.
#[derive(Iden, Clone, Copy)]
pub enum SiteProfiles {
    Table,
    OrgCode,
    FacilityCode,
    PostalCode,
    Address,
    Representative,
    ContractStatus,
    SiteType,
    HubCode,
    Phone,
    Website,
    Hours,
    Vaccines,
    AcceptsNonRegular,
    Access,
    Parking,
    FreezersUltraCold,
    FreezersMinus20,
    StorageLocation,
    DetailsAt,
    ConfirmedAt,
    ConfirmedBy,
    Reservation,
    ReservationAt,
    UpdatedAt,
    UpdatedBy,
    Version,
    Latitude,
    Longitude,
    Booking,
    BookingUrl,
}

/// The vaccines a site handles (references to `products`).
#[derive(Iden, Clone, Copy)]
pub enum SiteVaccines {
    Table,
    OrgCode,
    ProductId,
}

#[derive(Iden, Clone, Copy)]
pub enum SiteChanges {
    Table,
    Id,
    OrgCode,
    Before,
    After,
    Status,
    RequestedAt,
    RequestedBy,
    DecidedAt,
    DecidedBy,
}

#[derive(Iden, Clone, Copy)]
pub enum Doctors {
    Table,
    Id,
    OrgCode,
    Name,
    RegistrationNumber,
    CreatedAt,
    CreatedBy,
}

#[derive(Iden, Clone, Copy)]
pub enum ReportingPeriods {
    Table,
    Id,
    FirstDay,
    LastDay,
    OpenedAt,
    OpenedBy,
    ClosedAt,
    ClosedBy,
}

#[derive(Iden, Clone, Copy)]
pub enum DailyResults {
    Table,
    OrgCode,
    Day,
    Total,
    Elderly,
    Underlying,
    Others,
    WastedVials,
    WasteReason,
    UpdatedAt,
    UpdatedBy,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum StockLedger {
    Table,
    Id,
    OrgCode,
    Lot,
    CycleId,
    Kind,
    Vials,
    Doses,
    DosesPerVial,
    Reason,
    Note,
    Reference,
    Reverses,
    At,
    By,
}

/// One line of a finalised cycle on its way to a site: vaccine, needles or syringes.
#[derive(Iden, Clone, Copy)]
pub enum Deliveries {
    Table,
    Id,
    CycleId,
    NodeId,
    SiteCode,
    SitePath,
    MunicipalityCode,
    Item,
    ProductId,
    Quantity,
    DelivererCode,
    ScheduledOn,
    DeliveredOn,
    DeliveryNumber,
    Lot,
    Note,
    Storage,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// Organisation API tokens (deliverers' own systems).
#[derive(Iden, Clone, Copy)]
pub enum ApiTokens {
    Table,
    Id,
    OrgCode,
    Name,
    TokenHash,
    CreatedAt,
    CreatedBy,
    RevokedAt,
    LastUsedAt,
}

/// What a deliverer received from upstream (入荷) for a cycle.
#[derive(Iden, Clone, Copy)]
pub enum DelivererInbound {
    Table,
    Id,
    OrgCode,
    CycleId,
    Item,
    Quantity,
    ReceivedOn,
    At,
    By,
}

/// A deliverer's basic information (wholesalers, manufacturers, warehouses, dry-ice makers).
#[derive(Iden, Clone, Copy)]
pub enum DelivererProfiles {
    Table,
    OrgCode,
    PostalCode,
    Address,
    Phone,
    Contact,
    Email,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// A long task run in the background (a registry import), its progress readable from every
/// process.
#[derive(Iden, Clone, Copy)]
pub enum Jobs {
    Table,
    Id,
    Kind,
    UserId,
    OrgCode,
    Phase,
    Done,
    Total,
    Outcome,
    ErrorJa,
    ErrorEn,
    StartedAt,
    UpdatedAt,
    FinishedAt,
}

/// Who runs a piece of scheduled work now (one runner among many processes).
#[derive(Iden, Clone, Copy)]
pub enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

/// A counter per topic of change, bumped in the same transaction as the change: every process
/// polls it (and, on PostgreSQL, also hears a NOTIFY) to drop what it cached.
#[derive(Iden, Clone, Copy)]
pub enum Changes {
    Table,
    Topic,
    Version,
}

/// Articles of the staff knowledge base (manual chapters, FAQ, こんなときには, ご相談窓口).
#[derive(Iden, Clone, Copy)]
pub enum Articles {
    Table,
    Id,
    Category,
    Readers,
    Title,
    Body,
    SortKey,
    CreatedAt,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// The search terms of an article (its characters and character pairs).
#[derive(Iden, Clone, Copy)]
pub enum ArticleTerms {
    Table,
    ArticleId,
    Term,
}

/// Files attached to an article (PDF manuals, pictures).
#[derive(Iden, Clone, Copy)]
pub enum Attachments {
    Table,
    Id,
    ArticleId,
    Filename,
    Kind,
    Size,
    Content,
    CreatedAt,
    CreatedBy,
}

/// Results per day and municipality, kept by atomic increments with every write of a day's
/// results (the dashboards read these, never the raw rows).
#[derive(Iden, Clone, Copy)]
pub enum ResultRollups {
    Table,
    Day,
    MunicipalityCode,
    Reports,
    Total,
    Elderly,
    Underlying,
    Others,
    WastedVials,
}

/// Stock movements per day (Japan time), municipality, cycle (its vaccine) and kind of entry,
/// kept by atomic increments with every ledger entry.
#[derive(Iden, Clone, Copy)]
pub enum StockRollups {
    Table,
    Day,
    MunicipalityCode,
    CycleId,
    Kind,
    Entries,
    Vials,
    Doses,
}

/// Results per day and prefecture: the same increments as [`ResultRollups`], so that the
/// nation's figures read 47 rows a day rather than 1,741.
#[derive(Iden, Clone, Copy)]
pub enum PrefectureResultRollups {
    Table,
    Day,
    PrefectureCode,
    Reports,
    Total,
    Elderly,
    Underlying,
    Others,
    WastedVials,
}

/// Stock movements per day, prefecture and kind: the same increments as [`StockRollups`]
/// (without the cycle), for the nation's figures.
#[derive(Iden, Clone, Copy)]
pub enum PrefectureStockRollups {
    Table,
    Day,
    PrefectureCode,
    Kind,
    Entries,
    Vials,
    Doses,
}

/// Delivery lines per cycle, deliverer, municipality and 納入予定日 ('' for none yet), with how
/// many of them have their 納入実績日: kept by atomic increments with every write of a
/// delivery line. Unscheduled and late lines are read from these.
#[derive(Iden, Clone, Copy)]
pub enum DeliveryRollups {
    Table,
    CycleId,
    DelivererCode,
    MunicipalityCode,
    PlannedOn,
    Lines,
    Delivered,
}
