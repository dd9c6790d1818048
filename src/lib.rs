//! watchfloor: a terminal security operations console for AWS fleets.
//!
//! Data flow: feeds (one driver task per account x region x feed, see [`feed`]) send owned
//! [`feed::Report`]s over a channel; [`app::update`] applies them purely; [`ui::render`] draws the state; [`tui`] runs the
//! event loop; [`cmd`] holds the subcommands the binary runs. See docs/architecture.md.

pub mod app;
pub mod aws;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod diag;
pub mod feed;
pub mod filter;
pub mod keymap;
pub mod model;
pub mod notify;
pub mod rules;
pub mod snapshot;
pub mod source;
pub mod span;
pub mod theme;
pub mod triage;
pub mod tui;
pub mod ui;
