#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! The use-cases of `vsys_app` called directly, without HTTP, on a fresh database of each
//! backend: who may do what (the permission source and scope), and each family of use-cases.

mod common;

mod accounts;
mod allocation;
mod allocation_versions;
mod amounts;
mod announcements;
mod audit_csv;
mod auth;
mod citizen_notices;
mod dashboard;
mod delivery;
mod delivery_rules;
mod demo_autopilot;
mod hostile;
mod knowledge;
mod notice_groups;
mod orgs_notices;
mod overview;
mod permissions;
mod priority;
mod public;
mod reminders;
mod results_stock;
mod rollups;
mod site_import;
mod sites;
