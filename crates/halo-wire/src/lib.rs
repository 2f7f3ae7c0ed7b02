//! halo's versioned binary wire codec: packet header, HMAC authentication, replay and generation checks. Pure.
