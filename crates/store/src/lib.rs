//! Persistence for vsys: one set of repositories, written once with sea-query and executed on
//! SQLite or PostgreSQL through [`Db`] and [`Tx`].

pub mod allocations;
pub mod audit;
pub mod cycles;
pub mod db;
pub mod deliveries;
pub mod error;
pub mod ledger;
pub mod master;
pub mod migrate;
pub mod notices;
pub mod orgs;
pub mod outbox;
pub mod products;
pub mod requests;
pub mod results;
pub mod schema;
pub mod sessions;
pub mod sites;
pub mod throttle;
pub mod users;

pub use db::{Backend, Db, Tx};
pub use error::{StoreError, StoreResult};

/// A page of a list: 1-based page number and page size (1–500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
}

impl Page {
    pub const MAX_PER_PAGE: u64 = 500;
    pub fn new(page: Option<u64>, per_page: Option<u64>) -> Page {
        Page {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(50).clamp(1, Self::MAX_PER_PAGE),
        }
    }
    pub fn limit(self) -> u64 {
        self.per_page
    }
    pub fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
    pub fn all() -> Page {
        Page {
            page: 1,
            per_page: u64::MAX / 2,
        }
    }
}
