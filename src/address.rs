//! Client addresses as the per-address limits count them (connections on
//! the edge, failed logins and registrations in the core).
//!
//! An IPv4 address is one client. An IPv6 client is usually given a whole
//! /64 network and can pick a fresh address in it for every connection;
//! counting per address would give it 2^64 budgets. So IPv6 addresses are
//! counted per /64, and an IPv4-mapped IPv6 address as its IPv4 address.

use std::net::{IpAddr, Ipv6Addr};

/// The group `address` is counted in: itself for IPv4, its /64 for IPv6.
pub fn address_group(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = v6.to_bits() & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from_bits(network))
            }
        },
    }
}

/// The key a limit counts the address `text` (as the edge reports it)
/// under: its group when it is an IP address, else the text as it is.
pub fn address_key(text: &str) -> String {
    match text.parse::<IpAddr>() {
        Ok(address) => address_group(address).to_string(),
        Err(_) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_counted_per_64_and_ipv4_alone() {
        let key = address_key;
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:1:2:3"));
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("192.0.2.1"), "192.0.2.1");
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(key("not an address"), "not an address");
    }
}
