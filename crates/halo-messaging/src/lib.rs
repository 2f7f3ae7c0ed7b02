//! Reliable cluster messaging above the wire codec: per-sender order, exactly-once delivery, retransmission, fragmentation. Pure.
