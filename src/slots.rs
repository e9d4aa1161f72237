//! The live clients, by number. A freed client's slot is reused, so a page
//! that makes and frees clients for a week (a React provider remounting)
//! holds only its live ones; a number carries its slot's generation, so a
//! late call with a freed client's number finds nothing, even once the
//! slot holds another client.

use alloc::vec::Vec;

/// Bits of a number that name the slot; the 15 above are the generation
/// (the sign bit stays clear: JS sees the number as a non-negative i32).
const SLOT_BITS: u32 = 16;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GENERATION_MASK: u32 = (1 << 15) - 1;

/// Values by number: a slot index in the low 16 bits, its generation above.
pub struct Slots<T> {
    slots: Vec<(u32, Option<T>)>,
    /// Free slots among `slots` (none: no need to search).
    free: usize,
}

impl<T> Slots<T> {
    /// No slots.
    pub const fn new() -> Self {
        Slots {
            slots: Vec::new(),
            free: 0,
        }
    }

    /// Stores `value` in a free slot (or a new one); its number. `None`
    /// when 65,536 values are live at once.
    pub fn insert(&mut self, value: T) -> Option<u32> {
        let at = match (self.free > 0)
            .then(|| self.slots.iter().position(|(_, v)| v.is_none()))
            .flatten()
        {
            Some(at) => {
                self.free -= 1;
                at
            }
            None if self.slots.len() <= SLOT_MASK as usize => {
                self.slots.push((0, None));
                self.slots.len() - 1
            }
            None => return None,
        };
        let (generation, slot) = self.slots.get_mut(at)?;
        *slot = Some(value);
        Some(*generation << SLOT_BITS | at as u32)
    }

    /// The value numbered `n`, if it is still there.
    pub fn get(&self, n: u32) -> Option<&T> {
        match self.slots.get((n & SLOT_MASK) as usize)? {
            (generation, Some(value)) if *generation == n >> SLOT_BITS => Some(value),
            _ => None,
        }
    }

    /// The value numbered `n`, if it is still there.
    pub fn get_mut(&mut self, n: u32) -> Option<&mut T> {
        match self.slots.get_mut((n & SLOT_MASK) as usize)? {
            (generation, Some(value)) if *generation == n >> SLOT_BITS => Some(value),
            _ => None,
        }
    }

    /// Takes the value numbered `n` out; its number is never valid again
    /// (until the generation wraps after 32,768 reuses of the slot).
    pub fn remove(&mut self, n: u32) -> Option<T> {
        let (generation, slot) = self.slots.get_mut((n & SLOT_MASK) as usize)?;
        if *generation != n >> SLOT_BITS {
            return None;
        }
        let value = slot.take()?;
        *generation = (*generation + 1) & GENERATION_MASK;
        self.free += 1;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[test]
    fn freed_slots_are_reused_under_new_numbers() {
        let mut s = Slots::new();
        let a = s.insert("a").unwrap();
        let b = s.insert("b").unwrap();
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!(s.get(a), None);
        let c = s.insert("c").unwrap();
        assert_ne!(c, a, "a new number for the reused slot");
        assert_eq!(c & 0xFFFF, a & 0xFFFF, "the same slot");
        assert_eq!(
            (s.get(a), s.get(c), s.get(b)),
            (None, Some(&"c"), Some(&"b"))
        );
        assert_eq!(s.remove(a), None, "a stale number removes nothing");
        assert_eq!(s.get_mut(c), Some(&mut "c"));
    }

    #[test]
    fn making_and_freeing_does_not_grow() {
        let mut s = Slots::new();
        let keep = s.insert(0).unwrap();
        for i in 1..100_000 {
            let n = s.insert(i).unwrap();
            assert_eq!(s.remove(n), Some(i));
        }
        assert_eq!(s.slots.len(), 2, "one live value and one reused slot");
        assert_eq!(s.get(keep), Some(&0));
        // Numbers stay non-negative i32s after the generation wrapped.
        let n = s.insert(1).unwrap();
        assert!(n <= i32::MAX as u32);
    }

    #[test]
    fn at_most_65536_live_values() {
        let mut s = Slots::new();
        for i in 0..65_536 {
            assert!(s.insert(i).is_some());
        }
        assert_eq!(s.insert(65_536), None);
        s.remove(7).unwrap();
        assert!(s.insert(65_536).is_some(), "a freed slot is taken again");
    }
}
