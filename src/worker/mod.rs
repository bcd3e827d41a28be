//! Claims stored deliveries and runs the gate.
