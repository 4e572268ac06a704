//! Helpers every stage may use: time and number formats, progress on a terminal, message text,
//! seed mixing, salted id hashes, the status of a check.
//! Nothing here knows about carts, personas or files.
pub mod gate;
pub mod mix;
pub mod numfmt;
pub mod progress;
pub mod salted;
pub mod text;
pub mod timefmt;
