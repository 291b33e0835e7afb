//! Royal Care: the live scheduling server of a home-service massage clinic, as one binary
//! and one SQLite file.
//!
//! A change flows one way, and the module names follow it: `http` (bytes → request) →
//! `server` (route) → `api` (the handler; the caller checked) → `scheduling` / `auth`
//! (the rules) → `store` (one write transaction that also appends an `events` row) →
//! commit → `hub` (fan-out to subscribers) → `live` (the socket, framed by `ws`).
//! Layers, lowest first (each imports only from its own layer or below; the test
//! `tests/architecture.rs` checks it, docs/ARCHITECTURE.md draws it):
//! base (`time`, `config`, `error`) → transport (`http`, `ws`) → storage (`events`,
//! `store`) → rules (`auth`, `scheduling`) → `hub` → `app` → endpoints (`api`, `live`,
//! `web`, `maintenance`) → `server` → `import` → `cli`.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod events;
pub mod http;
pub mod hub;
pub mod import;
pub mod live;
pub mod maintenance;
pub mod scheduling;
pub mod server;
pub mod store;
pub mod time;
pub mod web;
pub mod ws;
