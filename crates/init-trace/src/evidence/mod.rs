//! Parsers for the evidence a cold start leaves: Python's `-X importtime` tree and the
//! X-Ray documents a function sends. They never panic; what they cannot read is counted.

pub mod importtime;
pub mod xray;
