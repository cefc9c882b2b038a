//! Persistence for vsys: one set of repositories, written once with sea-query and executed on
//! SQLite or PostgreSQL through [`Db`] and [`Tx`].

pub mod allocations;
pub mod audit;
pub mod coordination;
pub mod cycles;
pub mod db;
pub mod deliveries;
pub mod error;
pub mod jobs;
pub mod knowledge;
pub mod ledger;
pub mod master;
pub mod migrate;
pub mod notices;
pub mod ops;
pub mod orgs;
pub mod outbox;
pub mod products;
pub mod reminders;
pub mod requests;
pub mod results;
pub mod rollups;
pub mod schema;
pub mod sessions;
pub mod sites;
pub mod throttle;
pub mod users;

pub use db::{Backend, Db, Tx};
pub use error::{StoreError, StoreResult};

/// A page of a list (bounded where it is parsed, in `vsys_domain::validation`).
pub use vsys_domain::validation::Page;
