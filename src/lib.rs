//! cartsona: exported cart, order and engagement data in; cart-abandoner personas out.
//! See ARCHITECTURE in docs/ and the README for the data flow.
pub mod cli;
pub mod cmd;
pub mod config;
pub mod io;
pub mod model;
pub mod numfmt;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod synth;
pub mod timefmt;
