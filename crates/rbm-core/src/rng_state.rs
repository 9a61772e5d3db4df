//! The four 64-bit words of a [`Xoshiro256PlusPlus`], for explicit, named trainer state.
//!
//! `rand_xoshiro` offers no accessor for its state, only `serde` support and `from_seed`. The
//! words are read through a minimal `serde` serializer that accepts exactly the shape of that
//! implementation (a struct holding a tuple of four `u64`) and refuses anything else, so a
//! change upstream fails loudly (in `rng_state_round_trips`) instead of silently.
//! Restoring uses `from_seed`, which reads the same words back (little-endian).

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::ser::{self, Impossible, Serialize};

/// The state words of `rng`.
pub(crate) fn words(rng: &Xoshiro256PlusPlus) -> [u64; 4] {
    let mut c = Collector { words: Vec::with_capacity(4) };
    rng.serialize(&mut c).expect("rand_xoshiro serialises its state as four u64");
    c.words.try_into().expect("four words")
}

/// The generator with state `words`; `None` for the all-zero state, which xoshiro never
/// reaches (and `from_seed` would silently replace).
pub(crate) fn from_words(words: [u64; 4]) -> Option<Xoshiro256PlusPlus> {
    if words == [0; 4] {
        return None;
    }
    let mut seed = [0u8; 32];
    for (chunk, w) in seed.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    Some(Xoshiro256PlusPlus::from_seed(seed))
}

struct Collector {
    words: Vec<u64>,
}

#[derive(Debug)]
struct Unexpected(String);

impl std::fmt::Display for Unexpected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Unexpected {}
impl ser::Error for Unexpected {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Unexpected(msg.to_string())
    }
}

fn unexpected<T>(what: &str) -> Result<T, Unexpected> {
    Err(Unexpected(format!("unexpected {what} in the generator state")))
}

macro_rules! refuse {
    ($($name:ident($ty:ty)),*) => {
        $(fn $name(self, _: $ty) -> Result<(), Unexpected> { unexpected(stringify!($name)) })*
    };
}

impl ser::Serializer for &mut Collector {
    type Ok = ();
    type Error = Unexpected;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Impossible<(), Unexpected>;
    type SerializeTupleVariant = Impossible<(), Unexpected>;
    type SerializeMap = Impossible<(), Unexpected>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Unexpected>;

    fn serialize_u64(self, v: u64) -> Result<(), Unexpected> {
        if self.words.len() == 4 {
            return unexpected("fifth word");
        }
        self.words.push(v);
        Ok(())
    }
    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str)
    );
    fn serialize_none(self) -> Result<(), Unexpected> {
        unexpected("none")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Unexpected> {
        unexpected("some")
    }
    fn serialize_unit(self) -> Result<(), Unexpected> {
        unexpected("unit")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Unexpected> {
        unexpected("variant")
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unexpected> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unexpected> {
        unexpected("variant")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Unexpected> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Unexpected> {
        Ok(self)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unexpected> {
        unexpected("tuple struct")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unexpected> {
        unexpected("variant")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unexpected> {
        unexpected("map")
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unexpected> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unexpected> {
        unexpected("variant")
    }
}

impl ser::SerializeSeq for &mut Collector {
    type Ok = ();
    type Error = Unexpected;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unexpected> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unexpected> {
        Ok(())
    }
}

impl ser::SerializeTuple for &mut Collector {
    type Ok = ();
    type Error = Unexpected;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unexpected> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unexpected> {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Collector {
    type Ok = ();
    type Error = Unexpected;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unexpected> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unexpected> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn rng_state_round_trips() {
        let mut a = Xoshiro256PlusPlus::seed_from_u64(42);
        a.next_u64();
        let mut b = from_words(words(&a)).expect("non-zero state");
        assert_eq!(a, b);
        assert_eq!(a.next_u64(), b.next_u64());
        assert!(from_words([0; 4]).is_none());
        // The words are the generator's: a known state gives a known first output
        // (xoshiro256++: rotl(s0 + s3, 23) + s0).
        let mut c = from_words([1, 2, 3, 4]).unwrap();
        assert_eq!(c.next_u64(), (1u64 + 4).rotate_left(23) + 1);
        assert_eq!(words(&from_words([5, 6, 7, 8]).unwrap()), [5, 6, 7, 8]);
    }
}
