#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! The use-cases of `vsys_app` called directly, without HTTP, on a fresh database of each
//! backend: who may do what (the permission source and scope), and each family of use-cases.

mod common;

mod accounts;
mod allocation;
mod audit_csv;
mod auth;
mod citizen_notices;
mod delivery;
mod delivery_rules;
mod hostile;
mod notice_groups;
mod orgs_notices;
mod permissions;
mod priority;
mod public;
mod results_stock;
mod site_import;
mod sites;
