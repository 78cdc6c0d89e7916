//! One batch request in the making: the request body itself, grown item by item.

use std::time::Instant;

/// Upper bound of one batch request's JSON.
pub(crate) const MAX_BATCH_BYTES: usize = 500 * 1024;

/// A batch request in the making: its body as it will be sent, less the closing `]` (`[`,
/// then the items' JSON objects separated by `,`), and each item's sequence number, queue
/// time and end offset. Items are copied into the open batch of their kind as they are
/// enqueued, so the sender sends the body as it is and nothing is allocated per item; spent
/// batches are kept for reuse.
pub(crate) struct Batch {
    pub(super) body: Vec<u8>,
    pub(super) items: Vec<Meta>,
}

#[derive(Clone, Copy)]
pub(crate) struct Meta {
    pub(super) seq: u64,
    pub(super) queued_at: Instant,
    /// Where the item is in the spool, once written there.
    pub(super) spooled: Option<Spooled>,
    /// Offset in `body` just past this item's JSON.
    end: u32,
}

/// An item's place in the spool: its segment and record id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spooled {
    pub seg: u32,
    pub id: u64,
}

impl Batch {
    pub(super) fn with_capacity(bytes: usize, items: usize) -> Batch {
        let mut body = Vec::with_capacity(bytes);
        body.push(b'[');
        Batch {
            body,
            items: Vec::with_capacity(items),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether `json` fits under MAX_BATCH_BYTES (an empty batch takes anything).
    pub(super) fn fits(&self, json: &[u8]) -> bool {
        self.items.is_empty() || self.body.len() + json.len() + 2 <= MAX_BATCH_BYTES
    }

    pub(super) fn push(&mut self, seq: u64, queued_at: Instant, json: &[u8]) {
        if !self.items.is_empty() {
            self.body.push(b',');
        }
        self.body.extend_from_slice(json);
        self.items.push(Meta {
            seq,
            queued_at,
            spooled: None,
            end: self.body.len() as u32,
        });
    }

    /// Item `i`'s JSON.
    pub(super) fn item(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            1
        } else {
            self.items[i - 1].end as usize + 1
        };
        &self.body[start..self.items[i].end as usize]
    }

    pub(super) fn first(&self) -> Option<&Meta> {
        self.items.first()
    }

    /// A new batch with the items `keep` picks, copied (sized to fit them exactly).
    pub(super) fn subset(&self, keep: impl Fn(usize, &Meta) -> bool) -> Batch {
        let picked: Vec<usize> = (0..self.items.len())
            .filter(|&i| keep(i, &self.items[i]))
            .collect();
        let bytes = picked
            .iter()
            .map(|&i| self.item(i).len() + 1)
            .sum::<usize>()
            + 2;
        let mut out = Batch::with_capacity(bytes, picked.len());
        for i in picked {
            let m = self.items[i];
            out.push(m.seq, m.queued_at, self.item(i));
            if let Some(last) = out.items.last_mut() {
                last.spooled = m.spooled;
            }
        }
        out
    }

    pub(super) fn clear(&mut self) {
        self.body.truncate(1);
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn parse(b: &Batch) -> Vec<serde_json::Value> {
        let mut body = b.body.clone();
        body.push(b']');
        serde_json::from_slice(&body).expect("a batch body is a JSON array")
    }

    #[test]
    fn a_batch_is_its_request_body_and_splits_by_item() {
        let t = Instant::now();
        let mut b = Batch::with_capacity(8, 2);
        assert!(parse(&b).is_empty());
        for i in 0..5u64 {
            b.push(i, t, format!("{{\"n\":{i},\"s\":\"a,b\"}}").as_bytes());
        }
        let all = parse(&b);
        assert_eq!(all.len(), 5);
        for (i, whole) in all.iter().enumerate() {
            assert_eq!(whole["n"], i as u64);
            let one: serde_json::Value = serde_json::from_slice(b.item(i)).unwrap();
            assert_eq!(&one, whole);
        }
        let odd = b.subset(|_, m| m.seq % 2 == 1);
        assert_eq!(parse(&odd), vec![all[1].clone(), all[3].clone()]);
        assert_eq!(odd.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 3]);
        let none = b.subset(|_, _| false);
        assert!(none.items.is_empty() && parse(&none).is_empty());
        b.clear();
        assert!(parse(&b).is_empty() && b.first().is_none());
    }
}
