#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! The web suite: every test runs on SQLite and on PostgreSQL (`NAME::sqlite`,
//! `NAME::postgres`), each against its own server and its own database.

mod a11y;
mod allocation;
mod audit;
mod auth;
#[macro_use]
mod browser;
mod browser_amounts;
mod browser_dashboard;
mod browser_delivery;
mod browser_demo;
mod browser_division;
mod browser_forms;
mod browser_knowledge;
mod browser_notices_audience;
mod browser_public;
mod browser_screens;
mod browser_sites;
mod browser_sweep;
mod common;
mod cross_org;
mod delivery;
mod delivery_screens;
mod mail;
mod open_data;
mod overload;
mod public_finder;
mod public_outage;
mod reservations;
mod security;
mod site_home;
mod site_import;
mod sites;
mod typed_numbers;
mod web;
mod xss;
