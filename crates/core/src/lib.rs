//! smallbatch's functional core: the forge-neutral vocabulary (`domain`), the gate's
//! rules and texts (`policy`), comment commands (`commands`), `/ship`'s decisions
//! (`ship`) and the DORA metrics (`dora`). Pure functions and data only: no I/O, no
//! async, no clocks. The main crate's adapters feed it and carry out what it decides.

pub mod commands;
pub mod domain;
pub mod dora;
pub mod policy;
pub mod ship;
