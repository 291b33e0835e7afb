//! Royal Care: the live scheduling server of a home-service massage clinic, as one binary
//! and one SQLite file.
//!
//! A change flows one way, and the module names follow it:
//! `http` (bytes → request) → `api` (route, check the caller) → `scheduling` / `auth`
//! (the rules) → `store` (one write transaction that also appends an `events` row) →
//! commit → `hub` (fan-out to subscribers) → `ws` (frames on each socket).
//! `config` is the one table of settings, `error` the one error type, `cli` the commands.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod events;
pub mod http;
pub mod hub;
pub mod scheduling;
pub mod store;
pub mod time;
pub mod web;
pub mod wire;
pub mod ws;
