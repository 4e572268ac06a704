//! The seeded generator behind `cartsona generate`: realistic carts, orders and engagement with a
//! known answer (each shopper's archetype), documented in docs/generator.md.
//!
//! Every shopper's rows for a month come from their own random stream, seeded by (seed, shopper,
//! month), so the output is byte-identical for a seed whatever else changes, and shoppers are
//! generated and written one at a time: memory stays bounded at any size. `shoppers` holds the
//! archetypes and a shopper's month; `output` writes the files; `experiment`, `returns` and
//! `carryover` add the recovery experiment, planted returns and the monthly loop.

pub mod carryover;
pub mod experiment;
pub mod output;
pub mod returns;
mod shoppers;

pub use shoppers::{
    abandoned_per_month, customer_id, history, month, month_as, month_bounds, orders_per_month,
    plan, Archetype, Mix, Rec, ShopPlan, SynthParams, CARRYOVER_CARTS_BEFORE_END,
    CARRYOVER_CARTS_FROM, CART_HEADER, EVENT_HEADER, ORDER_HEADER,
};
use shoppers::{behaviour, money, pick, poisson, stream, CART_SPREAD, DEVICES, STEPS};
