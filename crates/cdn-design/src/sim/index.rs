//! The caches' index from object id to slot: open addressing with linear probing, at most
//! half full, each bucket the key and its slot side by side, so a lookup usually reads
//! one cache line. Its bucket for a key can be computed before the lookup, so the engine
//! prefetches the buckets of requests a few places ahead in a batch and the memory
//! latency of one lookup overlaps the work of the others.

/// An empty bucket's slot.
const EMPTY: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    key: u64,
    slot: u32,
}

/// Object id → slot number (`u32::MAX` is reserved).
#[derive(Debug)]
pub(crate) struct SlotIndex {
    buckets: Vec<Bucket>,
    /// `64 − log2(buckets)`: the hash's top bits pick the bucket.
    shift: u32,
    len: usize,
}

/// Fibonacci hashing: multiply by 2^64/φ and keep the top bits, which spreads sequential
/// and strided ids alike.
#[inline]
fn home(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

impl SlotIndex {
    pub(crate) fn new() -> Self {
        Self::with_buckets(1 << 10)
    }

    fn with_buckets(n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        Self {
            buckets: vec![Bucket { key: 0, slot: EMPTY }; n],
            shift: 64 - n.trailing_zeros(),
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    /// Asks the CPU to start loading `key`'s home bucket.
    #[inline]
    pub(crate) fn prefetch(&self, key: u64) {
        super::hint::prefetch(self.buckets.as_ptr().wrapping_add(home(key, self.shift)));
    }

    #[inline]
    pub(crate) fn get(&self, key: u64) -> Option<u32> {
        let mask = self.mask();
        let mut i = home(key, self.shift);
        loop {
            let b = self.buckets[i];
            if b.slot == EMPTY {
                return None;
            }
            if b.key == key {
                return Some(b.slot);
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts `key` with `slot` unless it is present; whether it was inserted.
    #[inline]
    pub(crate) fn insert_if_absent(&mut self, key: u64, slot: u32) -> bool {
        if self.get(key).is_some() {
            return false;
        }
        self.insert(key, slot);
        true
    }

    /// Every key.
    pub(crate) fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.buckets.iter().filter(|b| b.slot != EMPTY).map(|b| b.key)
    }

    /// Inserts `key` (which must not be present).
    #[inline]
    pub(crate) fn insert(&mut self, key: u64, slot: u32) {
        debug_assert!(slot != EMPTY);
        if (self.len + 1) * 2 > self.buckets.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut i = home(key, self.shift);
        while self.buckets[i].slot != EMPTY {
            debug_assert!(self.buckets[i].key != key, "key inserted twice");
            i = (i + 1) & mask;
        }
        self.buckets[i] = Bucket { key, slot };
        self.len += 1;
    }

    /// Removes `key`, returning its slot. Backward-shift deletion: the buckets after it
    /// in its run move up, so there are no tombstones and lookups stay short.
    #[inline]
    pub(crate) fn remove(&mut self, key: u64) -> Option<u32> {
        let mask = self.mask();
        let mut i = home(key, self.shift);
        loop {
            let b = self.buckets[i];
            if b.slot == EMPTY {
                return None;
            }
            if b.key == key {
                break;
            }
            i = (i + 1) & mask;
        }
        let slot = self.buckets[i].slot;
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let b = self.buckets[j];
            if b.slot == EMPTY {
                break;
            }
            // `b` may fill the hole if its home is not in the cyclic range (hole, j].
            let h = home(b.key, self.shift);
            if (j.wrapping_sub(h) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.buckets[hole] = b;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.buckets[hole].slot = EMPTY;
        self.len -= 1;
        Some(slot)
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Self::with_buckets(self.buckets.len() * 2));
        for b in old.buckets {
            if b.slot != EMPTY {
                self.insert(b.key, b.slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::rng::Rng;

    #[test]
    fn agrees_with_a_hash_map_under_inserts_and_removals() {
        let mut index = SlotIndex::new();
        let mut reference = HashMap::new();
        let mut rng = Rng::new(5);
        for step in 0..200_000u32 {
            // Few distinct keys, so runs collide and removals shift them.
            let key = rng.below(3_000) as u64 * 1_024;
            if rng.unit() < 0.55 {
                if let std::collections::hash_map::Entry::Vacant(e) = reference.entry(key) {
                    index.insert(key, step);
                    e.insert(step);
                }
            } else {
                assert_eq!(index.remove(key), reference.remove(&key));
            }
            assert_eq!(index.len(), reference.len());
            let probe = rng.below(3_000) as u64 * 1_024;
            assert_eq!(index.get(probe), reference.get(&probe).copied());
        }
    }
}
