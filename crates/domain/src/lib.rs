//! Pure rules of vsys: organisations, roles, access, passwords, TOTP, the audit hash chain and
//! the message catalogue. No I/O and no clock: time is always a parameter.

pub mod access;
pub mod allocation;
pub mod audit;
pub mod chain;
pub mod code;
pub mod i18n;
pub mod knowledge;
pub mod ledger;
pub mod notice;
pub mod org;
pub mod password;
pub mod place;
pub mod product;
pub mod site;
pub mod supplies;
pub mod totp;
pub mod units;
pub mod validation;

pub use access::{Action, Capability, Principal};
pub use allocation::{Formula, Formulas};
pub use chain::{Chain, Level, Status};
pub use i18n::{Lang, Msg};
pub use ledger::EntryKind;
pub use org::{OrgCode, OrgKind, Role};
pub use product::ProductKind;
pub use site::{Booking, ContractStatus, Reservation, SiteType};
pub use units::Unit;
pub use validation::{FieldError, Invalid};
