//! The records the use-cases hand to the screens and the API, as the store keeps them. The
//! screens render them; the API converts them into its own wire types. Nobody outside `app`
//! reads or writes the database: these are data, not access.

pub use vsys_domain::validation::Page;
pub use vsys_store::allocations::NodeRow;
pub use vsys_store::audit::{AuditFilter, AuditRow};
pub use vsys_store::cycles::{CycleRow, SupplyRow};
pub use vsys_store::deliveries::{DelivererProfileRow, DeliveryRow, InboundRow, TokenRow};
pub use vsys_store::ledger::LedgerRow;
pub use vsys_store::notices::{NoticeRow, UserNotice};
pub use vsys_store::orgs::OrgRow;
pub use vsys_store::products::{PresentationRow, ProductRow, SupplyRulesRow};
pub use vsys_store::requests::RequestRow;
pub use vsys_store::results::{PeriodRow, ResultRow};
pub use vsys_store::sites::{ChangeRow, DoctorRow, ProfileRow};
pub use vsys_store::users::UserRow;
