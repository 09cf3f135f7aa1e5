//! A checkpoint's commit record: which of the file's buffers hold the state
//! it saved, with its scalars and its small shared arrays.
//!
//! The file keeps two record slots. A save writes its arrays into buffers
//! the last committed record does not use, then its record into the slot the
//! last one is not in: until that record is whole, the previous state is
//! whole too. A record carries a checksum, so a record torn by a crash
//! while it was written is told apart from a whole one, and the reader takes
//! the whole record of the highest sequence number. Pure: encoding and
//! decoding only.

use crate::solver::state::{Scalar, Values};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

const MAGIC: &[u8; 8] = b"tsckpt04";
/// Magic, payload length, checksum.
const PREFIX: usize = 8 + 8 + 8;

/// Where a table's values are in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Place {
    /// Buffer 0 or 1 of a table rewritten at every save.
    Half(u8),
    /// A slot of the pool of kept tables of its space and width.
    Slot(usize),
}

/// A table of a row space, as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub space: String,
    pub width: usize,
    /// Bytes (u8), not f64.
    pub bytes: bool,
    pub kept: bool,
    pub place: Place,
}

/// A shared array's place in the record's blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Shared {
    name: String,
    bytes: bool,
    len: usize,
}

/// A scalar, floats by their bits (exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Number {
    Int(i64),
    Bits(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    seq: u64,
    scalars: Vec<(String, Number)>,
    shared: Vec<Shared>,
    tables: Vec<Table>,
}

/// One save's record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub seq: u64,
    pub scalars: Vec<(String, Scalar)>,
    pub shared: Vec<(String, Values<'static>)>,
    pub tables: Vec<Table>,
}

impl Record {
    /// The record as bytes: magic, payload length, checksum, then the
    /// payload (a JSON head, then the shared arrays' raw bytes).
    pub fn encode(&self) -> Vec<u8> {
        let head = Head {
            seq: self.seq,
            scalars: self.scalars.iter().map(|(n, v)| (n.clone(), number(*v))).collect(),
            shared: self.shared.iter().map(|(n, v)| Shared { name: n.clone(), bytes: matches!(v, Values::U8(_)), len: v.len() }).collect(),
            tables: self.tables.clone(),
        };
        let json = serde_json::to_vec(&head).expect("a record's head is plain data");
        let mut payload = (json.len() as u64).to_le_bytes().to_vec();
        payload.extend_from_slice(&json);
        for (_, v) in &self.shared {
            match v {
                Values::F64(v) => v.iter().for_each(|x| payload.extend_from_slice(&x.to_le_bytes())),
                Values::U8(v) => payload.extend_from_slice(v),
            }
        }
        let mut out = Vec::with_capacity(PREFIX + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&(crc32fast::hash(&payload) as u64).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// The record in `bytes` (a slot, possibly longer than the record), or
    /// `None` when the slot holds no whole record (never written, or torn).
    pub fn decode(bytes: &[u8]) -> Option<Record> {
        let word = |at: usize| -> Option<u64> { Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?)) };
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        let len = usize::try_from(word(8)?).ok()?;
        let payload = bytes.get(PREFIX..PREFIX.checked_add(len)?)?;
        if crc32fast::hash(payload) as u64 != word(16)? {
            return None;
        }
        let json_len = usize::try_from(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?)).ok()?;
        let head: Head = serde_json::from_slice(payload.get(8..8usize.checked_add(json_len)?)?).ok()?;
        let mut blob = &payload[8 + json_len..];
        let mut shared = Vec::new();
        for s in &head.shared {
            let size = if s.bytes { s.len } else { s.len.checked_mul(8)? };
            let (part, rest) = (blob.get(..size)?, blob.get(size..)?);
            blob = rest;
            let values = if s.bytes {
                Values::U8(Cow::Owned(part.to_vec()))
            } else {
                Values::F64(Cow::Owned(part.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()))
            };
            shared.push((s.name.clone(), values));
        }
        let scalars = head.scalars.into_iter().map(|(n, v)| (n, scalar(v))).collect();
        Some(Record { seq: head.seq, scalars, shared, tables: head.tables })
    }
}

fn number(v: Scalar) -> Number {
    match v {
        Scalar::Int(i) => Number::Int(i),
        Scalar::Float(f) => Number::Bits(f.to_bits()),
    }
}

fn scalar(v: Number) -> Scalar {
    match v {
        Number::Int(i) => Scalar::Int(i),
        Number::Bits(b) => Scalar::Float(f64::from_bits(b)),
    }
}

/// The newest whole record among the slots' contents.
pub fn newest(slots: &[&[u8]]) -> Option<Record> {
    slots.iter().filter_map(|s| Record::decode(s)).max_by_key(|r| r.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64) -> Record {
        Record {
            seq,
            scalars: vec![("epoch".into(), Scalar::Int(7)), ("wscale".into(), Scalar::Float(0.1 + 0.2))],
            shared: vec![("cum".into(), Values::f64(vec![1.5, -0.0, f64::MIN_POSITIVE])), ("flags".into(), Values::U8(Cow::Owned(vec![1, 0, 1])))],
            tables: vec![Table { name: "x".into(), space: "params".into(), width: 1, bytes: false, kept: false, place: Place::Half(1) }],
        }
    }

    #[test]
    fn a_record_reads_back_exactly() {
        let r = sample(3);
        let mut slot = r.encode();
        slot.resize(slot.len() + 100, 0);
        assert_eq!(Record::decode(&slot), Some(r));
    }

    /// A torn record (any byte of it changed or cut) is refused, and the
    /// reader falls back to the other slot's.
    #[test]
    fn a_torn_record_is_not_taken() {
        let (old, new) = (sample(4).encode(), sample(5).encode());
        assert_eq!(newest(&[&old, &new]).map(|r| r.seq), Some(5));
        for cut in [new.len() / 2, new.len() - 1, 10] {
            assert_eq!(newest(&[&old, &new[..cut]]).map(|r| r.seq), Some(4), "cut at {cut}");
        }
        let mut flipped = new.clone();
        let at = flipped.len() - 3;
        flipped[at] ^= 1;
        assert_eq!(newest(&[&flipped, &old]).map(|r| r.seq), Some(4));
        assert_eq!(newest(&[&[0u8; 64][..], &[][..]]), None);
    }
}
