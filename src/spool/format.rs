//! The spool's file format, version 1. A file is a 16-byte header, then records:
//!
//! ```text
//! header:  "PIRSCHSP" | version u32 LE (1) | reserved u32 (0)
//! record:  length u32 LE | crc32 u32 LE (of the payload) | payload (length bytes)
//! payload: 1 (item) | kind u8 | id u64 LE | queued at, ms since the epoch u64 LE | JSON
//!          2 (ack)  | (first id u64 LE | last id u64 LE)*   (delivered or given up: done)
//! ```
//!
//! Reading is forgiving: a record whose length or checksum is wrong is skipped, counted, and
//! the reader looks for the next good record byte by byte, so that the good records of a
//! damaged file are still delivered.

use crate::item::Kind;

pub(crate) const MAGIC: &[u8; 8] = b"PIRSCHSP";
pub(crate) const VERSION: u32 = 1;
pub(crate) const HEADER_BYTES: usize = 16;
/// No record is larger (an item's JSON is far smaller: fields are capped at 8 KiB each).
pub(crate) const MAX_RECORD_BYTES: usize = 1 << 20;
const ITEM: u8 = 1;
const ACK: u8 = 2;

pub(crate) fn header() -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// CRC-32 (IEEE), bytewise with a table built at compile time.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

fn kind_byte(kind: Kind) -> u8 {
    match kind {
        Kind::Hit => 0,
        Kind::Event => 1,
        Kind::Session => 2,
    }
}

fn kind_of(b: u8) -> Option<Kind> {
    match b {
        0 => Some(Kind::Hit),
        1 => Some(Kind::Event),
        2 => Some(Kind::Session),
        _ => None,
    }
}

fn frame(out: &mut Vec<u8>, payload_start: usize) {
    let len = (out.len() - payload_start) as u32;
    let crc = crc32(&out[payload_start..]);
    out[payload_start - 8..payload_start - 4].copy_from_slice(&len.to_le_bytes());
    out[payload_start - 4..payload_start].copy_from_slice(&crc.to_le_bytes());
}

/// Appends an item record.
pub(crate) fn push_item(out: &mut Vec<u8>, kind: Kind, id: u64, wall_ms: u64, json: &[u8]) {
    out.extend_from_slice(&[0u8; 8]);
    let start = out.len();
    out.push(ITEM);
    out.push(kind_byte(kind));
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&wall_ms.to_le_bytes());
    out.extend_from_slice(json);
    frame(out, start);
}

/// Appends an ack record for `ids` (as runs of consecutive ids).
pub(crate) fn push_ack(out: &mut Vec<u8>, ids: &[u64]) {
    if ids.is_empty() {
        return;
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    out.extend_from_slice(&[0u8; 8]);
    let start = out.len();
    out.push(ACK);
    let mut run = (sorted[0], sorted[0]);
    for &id in &sorted[1..] {
        if id == run.1 + 1 {
            run.1 = id;
        } else {
            out.extend_from_slice(&run.0.to_le_bytes());
            out.extend_from_slice(&run.1.to_le_bytes());
            run = (id, id);
        }
    }
    out.extend_from_slice(&run.0.to_le_bytes());
    out.extend_from_slice(&run.1.to_le_bytes());
    frame(out, start);
}

/// One item read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub kind: Kind,
    pub id: u64,
    pub wall_ms: u64,
    pub json: Vec<u8>,
}

/// What a file holds.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Items not acked, in file order.
    pub items: Vec<Item>,
    /// Damaged stretches skipped (bad length or checksum, or an unknown record).
    pub damaged: u64,
}

/// Why a file cannot be read at all.
#[derive(Debug, PartialEq)]
pub(crate) enum Unreadable {
    /// Not a spool file (no magic): left alone.
    Foreign,
    /// Written by a newer libpirsch: left alone for it.
    NewerVersion(u32),
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// The payload of a well-formed record at `at`, if there is one.
fn record_at(b: &[u8], at: usize) -> Option<&[u8]> {
    if at + 8 > b.len() {
        return None;
    }
    let len = u32_at(b, at) as usize;
    let crc = u32_at(b, at + 4);
    if len == 0 || len > MAX_RECORD_BYTES || at + 8 + len > b.len() {
        return None;
    }
    let payload = &b[at + 8..at + 8 + len];
    (crc32(payload) == crc).then_some(payload)
}

/// Reads a whole file (its bytes).
pub(crate) fn parse(b: &[u8]) -> Result<Parsed, Unreadable> {
    if b.len() < HEADER_BYTES || &b[..8] != MAGIC {
        return Err(Unreadable::Foreign);
    }
    let version = u32_at(b, 8);
    if version > VERSION {
        return Err(Unreadable::NewerVersion(version));
    }
    let mut out = Parsed::default();
    let mut acked: Vec<(u64, u64)> = Vec::new();
    let mut at = HEADER_BYTES;
    let mut in_damage = false;
    while at < b.len() {
        let Some(p) = record_at(b, at) else {
            // Damaged: look for the next good record, one byte on.
            if !in_damage {
                out.damaged += 1;
                in_damage = true;
            }
            at += 1;
            continue;
        };
        let good = match p[0] {
            ITEM if p.len() >= 18 => match kind_of(p[1]) {
                Some(kind) => {
                    out.items.push(Item {
                        kind,
                        id: u64_at(p, 2),
                        wall_ms: u64_at(p, 10),
                        json: p[18..].to_vec(),
                    });
                    true
                }
                None => false,
            },
            ACK if (p.len() - 1) % 16 == 0 => {
                for r in p[1..].chunks_exact(16) {
                    acked.push((u64_at(r, 0), u64_at(r, 8)));
                }
                true
            }
            _ => false,
        };
        if !good && !in_damage {
            out.damaged += 1;
        }
        in_damage = !good;
        at += 8 + p.len();
    }
    if !acked.is_empty() {
        // Merged into disjoint runs, so that one binary search finds an id's run.
        acked.sort_unstable();
        let mut runs: Vec<(u64, u64)> = Vec::with_capacity(acked.len());
        for (first, last) in acked {
            match runs.last_mut() {
                Some(r) if first <= r.1.saturating_add(1) => r.1 = r.1.max(last),
                _ => runs.push((first, last)),
            }
        }
        out.items.retain(|it| {
            let i = runs.partition_point(|r| r.0 <= it.id);
            !(i > 0 && it.id <= runs[i - 1].1)
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut b = header().to_vec();
        records(&mut b);
        b
    }

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn items_come_back_in_order_without_the_acked_ones() {
        let b = file(|b| {
            for id in 1..=6 {
                push_item(
                    b,
                    Kind::Hit,
                    id,
                    1000 + id,
                    format!("{{\"n\":{id}}}").as_bytes(),
                );
            }
            push_item(b, Kind::Event, 7, 2000, b"{\"e\":1}");
            push_ack(b, &[2, 3, 5]);
        });
        let p = parse(&b).unwrap();
        assert_eq!(p.damaged, 0);
        let ids: Vec<u64> = p.items.iter().map(|i| i.id).collect();
        assert_eq!(ids, [1, 4, 6, 7]);
        assert_eq!(p.items[3].kind, Kind::Event);
        assert_eq!(p.items[3].wall_ms, 2000);
        assert_eq!(p.items[0].json, b"{\"n\":1}");
    }

    #[test]
    fn damage_is_skipped_and_the_good_records_kept() {
        let mut b = file(|b| {
            for id in 1..=5 {
                push_item(b, Kind::Hit, id, 1, format!("{{\"n\":{id}}}").as_bytes());
            }
        });
        let one = (b.len() - HEADER_BYTES) / 5;
        // Flip a byte inside the second record's JSON, and cut the last one short.
        b[HEADER_BYTES + one + 30] ^= 0xff;
        b.truncate(b.len() - 3);
        let p = parse(&b).unwrap();
        let ids: Vec<u64> = p.items.iter().map(|i| i.id).collect();
        assert_eq!(ids, [1, 3, 4]);
        assert_eq!(p.damaged, 2);
        // Garbage in the middle.
        let mut g = file(|b| push_item(b, Kind::Hit, 1, 1, b"{}"));
        g.extend_from_slice(&[0xAB; 333]);
        push_item(&mut g, Kind::Hit, 2, 1, b"{}");
        let p = parse(&g).unwrap();
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.damaged, 1);
    }

    #[test]
    fn foreign_and_newer_files_are_not_read() {
        assert_eq!(
            parse(b"hello world, not a spool").unwrap_err(),
            Unreadable::Foreign
        );
        let mut b = header().to_vec();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(parse(&b).unwrap_err(), Unreadable::NewerVersion(2));
        assert!(parse(&header()).unwrap().items.is_empty());
    }
}
