//! Code generation, one module per macro. Input reaching here has been validated.

pub(crate) mod aligned_model;
