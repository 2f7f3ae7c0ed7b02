//! Policy engine: (CIB, now) -> transition graph of actions and orderings, conformant to Pacemaker's scheduler. Pure.
