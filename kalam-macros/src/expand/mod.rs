//! Code generation, one module per macro. Input reaching here has been validated.

pub(crate) mod aligned_model;
pub(crate) mod derive_aligned_model;
pub(crate) mod hot;
pub(crate) mod opt_in;
pub(crate) mod table;
