//! The text a stored task output is: JSON as Python's `json` module writes it, so `NaN`,
//! `Infinity` and `-Infinity` are kept (strict JSON has no way to write them; `serde_json` turns
//! them into `null`, which made `Some(f64::NAN)` come back as `None`).
//!
//! Finite values are written exactly as `serde_json` writes them, so earlier records read back
//! unchanged, and every float is read back bit for bit (`str::parse` rounds correctly; `f32`s are
//! parsed as `f32`, never through an `f64`). Python's `json.load`, and so MLflow's artifact
//! download followed by `json.load`, read the file as it is.
//!
//! ```
//! use oxflow_runtime::exec::xcom;
//! let bytes = xcom::to_vec(&(f64::NAN, Some(f64::INFINITY), 0.1f32)).unwrap();
//! assert_eq!(bytes, b"[NaN,Infinity,0.1]");
//! let (nan, inf, tenth): (f64, Option<f64>, f32) = xcom::from_slice(&bytes).unwrap();
//! assert!(nan.is_nan() && inf == Some(f64::INFINITY) && tenth == 0.1f32);
//! ```

use std::borrow::Cow;
use std::fmt::Display;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

/// Why an output could not be written or read back.
///
/// ```
/// use oxflow_runtime::exec::xcom::{self, CodecError};
/// assert!(matches!(xcom::from_slice::<u32>(b"[1,"), Err(CodecError::Syntax { .. })));
/// assert!(matches!(xcom::from_slice::<u32>(b"\"seven\""), Err(CodecError::Data(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The value cannot be written as JSON (a map key that is not a string or a number, or the
    /// type's own `Serialize` failed).
    #[error("cannot store the output: {0}")]
    Encode(String),
    /// The bytes are not JSON: the file was cut short or overwritten.
    #[error("not JSON at byte {offset}: {message}")]
    Syntax {
        /// Where reading stopped.
        offset: usize,
        /// What was expected there.
        message: String,
    },
    /// The bytes are JSON, but not a value of the type asked for (the output type changed
    /// since it was stored).
    #[error("the stored value does not read as the task's output type: {0}")]
    Data(String),
}

impl ser::Error for CodecError {
    fn custom<T: Display>(msg: T) -> Self {
        CodecError::Encode(msg.to_string())
    }
}

impl de::Error for CodecError {
    fn custom<T: Display>(msg: T) -> Self {
        CodecError::Data(msg.to_string())
    }
}

/// Writes `value` as JSON, with `NaN`, `Infinity` and `-Infinity` for non-finite floats.
///
/// ```
/// let bytes = oxflow_runtime::exec::xcom::to_vec(&vec![1.5, f64::NEG_INFINITY]).unwrap();
/// assert_eq!(bytes, b"[1.5,-Infinity]");
/// ```
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    value.serialize(&mut Writer { out: &mut out })?;
    Ok(out)
}

/// Reads a value written by [`to_vec`] (or any JSON, with Python's non-finite literals).
///
/// ```
/// let v: Option<f64> = oxflow_runtime::exec::xcom::from_slice(b"NaN").unwrap();
/// assert!(v.is_some_and(f64::is_nan));
/// ```
pub fn from_slice<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match parse::<T>(bytes) {
        // A type mismatch may be met before a damage further on: damage wins, so a cut-short
        // file is never taken for a value of another type.
        Err(CodecError::Data(reason)) => match parse::<de::IgnoredAny>(bytes) {
            Err(e @ CodecError::Syntax { .. }) => Err(e),
            _ => Err(CodecError::Data(reason)),
        },
        other => other,
    }
}

fn parse<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut p = Parser {
        input: bytes,
        pos: 0,
    };
    let value = T::deserialize(&mut p)?;
    p.skip_ws();
    if p.pos < bytes.len() {
        return Err(p.syntax("trailing characters after the value"));
    }
    Ok(value)
}

// ------------------------------------------------------------------------------ writing

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// A leaf value in `serde_json`'s own format (numbers, escaped strings).
    fn leaf<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        serde_json::to_writer(&mut *self.out, v).map_err(|e| CodecError::Encode(e.to_string()))
    }

    fn float(
        &mut self,
        v: f64,
        finite: impl FnOnce(&mut Self) -> Result<(), CodecError>,
    ) -> Result<(), CodecError> {
        if v.is_nan() {
            self.out.extend_from_slice(b"NaN");
        } else if v == f64::INFINITY {
            self.out.extend_from_slice(b"Infinity");
        } else if v == f64::NEG_INFINITY {
            self.out.extend_from_slice(b"-Infinity");
        } else {
            return finite(self);
        }
        Ok(())
    }
}

/// An array or object being written; `close` holds what ends it.
struct Compound<'a, 'b> {
    w: &'a mut Writer<'b>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
    }

    fn key(&mut self, key: &str) -> Result<(), CodecError> {
        self.comma();
        self.w.leaf(key)?;
        self.w.out.push(b':');
        Ok(())
    }

    fn end(self) -> Result<(), CodecError> {
        self.w.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl<'a, 'b> Writer<'b> {
    fn open(&'a mut self, open: &[u8], close: &'static [u8]) -> Compound<'a, 'b> {
        self.out.extend_from_slice(open);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` followed by an array or object.
    fn open_variant(
        &'a mut self,
        variant: &str,
        open: &[u8],
        close: &'static [u8],
    ) -> Result<Compound<'a, 'b>, CodecError> {
        self.out.push(b'{');
        self.leaf(variant)?;
        self.out.push(b':');
        self.out.extend_from_slice(open);
        Ok(Compound {
            w: self,
            first: true,
            close,
        })
    }
}

impl<'a, 'b> ser::Serializer for &'a mut Writer<'b> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), CodecError> {
        self.float(f64::from(v), |w| w.leaf(&v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), CodecError> {
        self.float(v, |w| w.leaf(&v))
    }
    fn serialize_char(self, v: char) -> Result<(), CodecError> {
        self.leaf(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), CodecError> {
        self.leaf(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CodecError> {
        self.leaf(v)
    }
    fn serialize_none(self) -> Result<(), CodecError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CodecError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CodecError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CodecError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CodecError> {
        self.leaf(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.out.push(b'{');
        self.leaf(variant)?;
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        self.open_variant(variant, b"[", b"]}")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        self.open_variant(variant, b"{", b"}}")
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.comma();
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), CodecError> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), CodecError> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), CodecError> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), CodecError> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CodecError> {
        self.comma();
        key.serialize(KeyWriter { w: &mut *self.w })?;
        self.w.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), CodecError> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.key(key)?;
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), CodecError> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), CodecError> {
        Compound::end(self)
    }
}

/// Writes a map key: JSON keys are strings, so numbers and booleans are quoted, as `serde_json`
/// and Python do.
struct KeyWriter<'a, 'b> {
    w: &'a mut Writer<'b>,
}

impl KeyWriter<'_, '_> {
    fn quoted(self, text: impl Display) -> Result<(), CodecError> {
        self.w.leaf(&text.to_string())
    }

    fn not_a_key(what: &str) -> CodecError {
        CodecError::Encode(format!(
            "a map key must be a string, a number or a bool, not {what}"
        ))
    }
}

impl ser::Serializer for KeyWriter<'_, '_> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = ser::Impossible<(), CodecError>;
    type SerializeTuple = ser::Impossible<(), CodecError>;
    type SerializeTupleStruct = ser::Impossible<(), CodecError>;
    type SerializeTupleVariant = ser::Impossible<(), CodecError>;
    type SerializeMap = ser::Impossible<(), CodecError>;
    type SerializeStruct = ser::Impossible<(), CodecError>;
    type SerializeStructVariant = ser::Impossible<(), CodecError>;

    fn serialize_bool(self, v: bool) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), CodecError> {
        self.quoted(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), CodecError> {
        let mut text = Vec::new();
        ser::Serializer::serialize_f32(&mut Writer { out: &mut text }, v)?;
        self.quoted(String::from_utf8_lossy(&text))
    }
    fn serialize_f64(self, v: f64) -> Result<(), CodecError> {
        let mut text = Vec::new();
        ser::Serializer::serialize_f64(&mut Writer { out: &mut text }, v)?;
        self.quoted(String::from_utf8_lossy(&text))
    }
    fn serialize_char(self, v: char) -> Result<(), CodecError> {
        self.w.leaf(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), CodecError> {
        self.w.leaf(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), CodecError> {
        Err(Self::not_a_key("bytes"))
    }
    fn serialize_none(self) -> Result<(), CodecError> {
        Err(Self::not_a_key("`None`"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CodecError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CodecError> {
        Err(Self::not_a_key("`()`"))
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), CodecError> {
        Err(Self::not_a_key(name))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CodecError> {
        self.w.leaf(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), CodecError> {
        Err(Self::not_a_key(name))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, CodecError> {
        Err(Self::not_a_key("a sequence"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, CodecError> {
        Err(Self::not_a_key("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, CodecError> {
        Err(Self::not_a_key(name))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(Self::not_a_key(name))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, CodecError> {
        Err(Self::not_a_key("a map"))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, CodecError> {
        Err(Self::not_a_key(name))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(Self::not_a_key(name))
    }
}

// ------------------------------------------------------------------------------ reading

struct Parser<'de> {
    input: &'de [u8],
    pos: usize,
}

/// A number or non-finite literal, as text.
enum Number<'de> {
    /// Digits with a fraction or an exponent, or `NaN` / `Infinity` / `-Infinity`.
    Float(&'de str),
    /// Digits only.
    Integer(&'de str),
}

impl<'de> Parser<'de> {
    fn syntax(&self, message: &str) -> CodecError {
        CodecError::Syntax {
            offset: self.pos,
            message: message.to_owned(),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Result<u8, CodecError> {
        self.skip_ws();
        self.input
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.syntax("unexpected end of input"))
    }

    fn expect(&mut self, byte: u8) -> Result<(), CodecError> {
        if self.peek()? == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(&format!("expected `{}`", byte as char)))
        }
    }

    fn keyword(&mut self, word: &[u8]) -> bool {
        if self.input[self.pos..].starts_with(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn number(&mut self) -> Result<Number<'de>, CodecError> {
        self.skip_ws();
        let start = self.pos;
        for (word, text) in [
            (&b"NaN"[..], "NaN"),
            (b"Infinity", "inf"),
            (b"-Infinity", "-inf"),
        ] {
            if self.keyword(word) {
                return Ok(Number::Float(text));
            }
        }
        let mut float = false;
        while let Some(&b) = self.input.get(self.pos) {
            match b {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.input[start..self.pos])
            .map_err(|_| self.syntax("expected a number"))?;
        if text.is_empty() || text == "-" {
            return Err(self.syntax("expected a value"));
        }
        Ok(if float {
            Number::Float(text)
        } else {
            Number::Integer(text)
        })
    }

    fn float<F: std::str::FromStr>(&mut self) -> Result<F, CodecError> {
        let start = self.pos;
        let text = match self.number()? {
            Number::Float(t) | Number::Integer(t) => t,
        };
        text.parse().map_err(|_| CodecError::Syntax {
            offset: start,
            message: format!("`{text}` is not a number"),
        })
    }

    fn hex4(&mut self) -> Result<u32, CodecError> {
        let digits = self
            .input
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.syntax("expected four hex digits after `\\u`"))?;
        self.pos += 4;
        Ok(digits)
    }

    fn string(&mut self) -> Result<Cow<'de, str>, CodecError> {
        self.expect(b'"')?;
        let start = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let Some(&b) = self.input.get(self.pos) else {
                return Err(self.syntax("unterminated string"));
            };
            match b {
                b'"' => {
                    let raw = &self.input[start..self.pos];
                    self.pos += 1;
                    return match owned {
                        None => std::str::from_utf8(raw)
                            .map(Cow::Borrowed)
                            .map_err(|_| self.syntax("a string is not UTF-8")),
                        Some(bytes) => String::from_utf8(bytes)
                            .map(Cow::Owned)
                            .map_err(|_| self.syntax("a string is not UTF-8")),
                    };
                }
                b'\\' => {
                    let buf = owned.get_or_insert_with(|| self.input[start..self.pos].to_vec());
                    self.pos += 1;
                    let Some(&esc) = self.input.get(self.pos) else {
                        return Err(self.syntax("unterminated escape"));
                    };
                    self.pos += 1;
                    let c = match esc {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.keyword(b"\\u") {
                                    return Err(self.syntax("a lone surrogate in `\\u` escapes"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.syntax("a lone surrogate in `\\u` escapes"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code)
                                .ok_or_else(|| self.syntax("an invalid `\\u` escape"))?
                        }
                        _ => return Err(self.syntax("an unknown escape")),
                    };
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
                _ => {
                    if let Some(buf) = owned.as_mut() {
                        buf.push(b);
                    }
                    self.pos += 1;
                }
            }
        }
    }

    /// After an element of an array or object: `,` before the next one, or the closing byte.
    fn more(&mut self, first: bool, close: u8) -> Result<bool, CodecError> {
        let b = self.peek()?;
        if b == close {
            return Ok(false);
        }
        if !first {
            if b != b',' {
                return Err(self.syntax(&format!("expected `,` or `{}`", close as char)));
            }
            self.pos += 1;
        }
        Ok(true)
    }
}

impl<'de> de::Deserializer<'de> for &mut Parser<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.peek()? {
            b'n' => {
                if self.keyword(b"null") {
                    visitor.visit_unit()
                } else {
                    Err(self.syntax("expected `null`"))
                }
            }
            b't' if self.keyword(b"true") => visitor.visit_bool(true),
            b'f' if self.keyword(b"false") => visitor.visit_bool(false),
            b'"' => match self.string()? {
                Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            },
            b'[' => {
                self.pos += 1;
                let value = visitor.visit_seq(Seq {
                    p: &mut *self,
                    first: true,
                })?;
                self.expect(b']')?;
                Ok(value)
            }
            b'{' => {
                self.pos += 1;
                let value = visitor.visit_map(Map {
                    p: &mut *self,
                    first: true,
                })?;
                self.expect(b'}')?;
                Ok(value)
            }
            b'-' | b'0'..=b'9' | b'N' | b'I' => {
                let start = self.pos;
                let bad = |text: &str| CodecError::Syntax {
                    offset: start,
                    message: format!("`{text}` is not a number"),
                };
                match self.number()? {
                    Number::Float(t) => visitor.visit_f64(t.parse().map_err(|_| bad(t))?),
                    Number::Integer(t) => {
                        if let Ok(v) = t.parse::<u64>() {
                            visitor.visit_u64(v)
                        } else if let Ok(v) = t.parse::<i64>() {
                            visitor.visit_i64(v)
                        } else if let Ok(v) = t.parse::<u128>() {
                            visitor.visit_u128(v)
                        } else if let Ok(v) = t.parse::<i128>() {
                            visitor.visit_i128(v)
                        } else {
                            visitor.visit_f64(t.parse().map_err(|_| bad(t))?)
                        }
                    }
                }
            }
            _ => Err(self.syntax("expected a value")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        // Parsed as `f32` directly: through an `f64` a value could round twice.
        match self.peek()? {
            b'-' | b'0'..=b'9' | b'N' | b'I' => visitor.visit_f32(self.float()?),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.peek()? {
            b'-' | b'0'..=b'9' | b'N' | b'I' => visitor.visit_f64(self.float()?),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        if self.peek()? == b'n' && self.keyword(b"null") {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        match self.peek()? {
            b'"' => {
                let name = self.string()?;
                visitor.visit_enum(name.into_owned().into_deserializer())
            }
            b'{' => {
                self.pos += 1;
                let value = visitor.visit_enum(Variant { p: &mut *self })?;
                self.expect(b'}')?;
                Ok(value)
            }
            _ => Err(self.syntax("expected an enum variant: a string or a one-key object")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        // Reads the value (so damage is still found) and drops it.
        self.deserialize_any(de::IgnoredAny)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

use serde::Deserialize as _;

struct Seq<'a, 'de> {
    p: &'a mut Parser<'de>,
    first: bool,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, 'de> {
    type Error = CodecError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, CodecError> {
        if !self.p.more(self.first, b']')? {
            return Ok(None);
        }
        self.first = false;
        seed.deserialize(&mut *self.p).map(Some)
    }
}

struct Map<'a, 'de> {
    p: &'a mut Parser<'de>,
    first: bool,
}

impl<'de> de::MapAccess<'de> for Map<'_, 'de> {
    type Error = CodecError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CodecError> {
        if !self.p.more(self.first, b'}')? {
            return Ok(None);
        }
        self.first = false;
        let key = self.p.string()?;
        self.p.expect(b':')?;
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, CodecError> {
        seed.deserialize(&mut *self.p)
    }
}

/// `{"Variant": value}`.
struct Variant<'a, 'de> {
    p: &'a mut Parser<'de>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = CodecError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), CodecError> {
        let name = self.p.string()?;
        self.p.expect(b':')?;
        let v = seed.deserialize(Key(name))?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = CodecError;
    fn unit_variant(self) -> Result<(), CodecError> {
        <()>::deserialize(&mut *self.p)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, CodecError> {
        seed.deserialize(&mut *self.p)
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_seq(&mut *self.p, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_map(&mut *self.p, visitor)
    }
}

/// An object key: a string, read as whatever the map's key type is (numbers and booleans are
/// quoted in JSON).
struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, CodecError> {
        self.0
            .parse()
            .map_err(|_| CodecError::Data(format!("map key `{}` is not {what}", self.0)))
    }

    /// A float key as [`to_vec`] writes it (with Python's names of the non-finite values).
    fn float<F: std::str::FromStr>(&self) -> Result<F, CodecError> {
        let text = match &*self.0 {
            "Infinity" => "inf",
            "-Infinity" => "-inf",
            other => other,
        };
        text.parse()
            .map_err(|_| CodecError::Data(format!("map key `{}` is not a number", self.0)))
    }
}

macro_rules! key_numbers {
    ($($method:ident $visit:ident $ty:ty, $what:literal;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
                visitor.$visit(self.parse::<$ty>($what)?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.0 {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }

    key_numbers! {
        deserialize_bool visit_bool bool, "a bool";
        deserialize_i8 visit_i8 i8, "an integer";
        deserialize_i16 visit_i16 i16, "an integer";
        deserialize_i32 visit_i32 i32, "an integer";
        deserialize_i64 visit_i64 i64, "an integer";
        deserialize_i128 visit_i128 i128, "an integer";
        deserialize_u8 visit_u8 u8, "an integer";
        deserialize_u16 visit_u16 u16, "an integer";
        deserialize_u32 visit_u32 u32, "an integer";
        deserialize_u64 visit_u64 u64, "an integer";
        deserialize_u128 visit_u128 u128, "an integer";
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_f32(self.float()?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_f64(self.float()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        visitor.visit_enum(self.0.into_owned().into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    enum Shape {
        Empty,
        Point(f64),
        Pair(f32, Option<f64>),
        Named { x: f64, label: String },
    }

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    struct Record {
        a: f64,
        b: Option<f64>,
        c: Vec<f32>,
        n: i64,
        u: u64,
        big: u128,
        neg: i128,
        text: String,
        shapes: Vec<Shape>,
        by_id: BTreeMap<u32, Option<f64>>,
        by_name: HashMap<String, (bool, char)>,
        unit: (),
    }

    /// Float equality that tells NaN from NaN and 0.0 from -0.0 (bit for bit).
    fn same64(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn same32(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn same_opt(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => same64(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    fn same_shape(a: &Shape, b: &Shape) -> bool {
        match (a, b) {
            (Shape::Empty, Shape::Empty) => true,
            (Shape::Point(a), Shape::Point(b)) => same64(*a, *b),
            (Shape::Pair(a, b), Shape::Pair(c, d)) => same32(*a, *c) && same_opt(*b, *d),
            (Shape::Named { x, label }, Shape::Named { x: y, label: l }) => {
                same64(*x, *y) && label == l
            }
            _ => false,
        }
    }

    fn same(a: &Record, b: &Record) -> bool {
        same64(a.a, b.a)
            && same_opt(a.b, b.b)
            && a.c.len() == b.c.len()
            && a.c.iter().zip(&b.c).all(|(x, y)| same32(*x, *y))
            && (a.n, a.u, a.big, a.neg, &a.text) == (b.n, b.u, b.big, b.neg, &b.text)
            && a.shapes.len() == b.shapes.len()
            && a.shapes
                .iter()
                .zip(&b.shapes)
                .all(|(x, y)| same_shape(x, y))
            && a.by_id.len() == b.by_id.len()
            && a.by_id
                .iter()
                .zip(&b.by_id)
                .all(|((k, v), (l, w))| k == l && same_opt(*v, *w))
            && a.by_name == b.by_name
    }

    /// Any `f64`, the special values much more often than chance would give them.
    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(f64::MAX),
            any::<u64>().prop_map(f64::from_bits),
        ]
    }

    fn any_f32() -> impl Strategy<Value = f32> {
        prop_oneof![
            any::<f32>(),
            Just(f32::NAN),
            Just(f32::INFINITY),
            Just(f32::NEG_INFINITY),
            any::<u32>().prop_map(f32::from_bits),
        ]
    }

    fn any_shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Empty),
            any_f64().prop_map(Shape::Point),
            (any_f32(), proptest::option::of(any_f64())).prop_map(|(a, b)| Shape::Pair(a, b)),
            (any_f64(), any::<String>()).prop_map(|(x, label)| Shape::Named { x, label }),
        ]
    }

    prop_compose! {
        fn any_record()(
            a in any_f64(),
            b in proptest::option::of(any_f64()),
            c in proptest::collection::vec(any_f32(), 0..4),
            n in any::<i64>(),
            u in any::<u64>(),
            big in any::<u128>(),
            neg in any::<i128>(),
            text in any::<String>(),
            shapes in proptest::collection::vec(any_shape(), 0..4),
            by_id in proptest::collection::btree_map(any::<u32>(), proptest::option::of(any_f64()), 0..4),
            by_name in proptest::collection::hash_map(any::<String>(), (any::<bool>(), any::<char>()), 0..4),
        ) -> Record {
            Record { a, b, c, n, u, big, neg, text, shapes, by_id, by_name, unit: () }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_value_round_trips_exactly(record in any_record()) {
            let bytes = to_vec(&record).unwrap();
            let back: Record = from_slice(&bytes).unwrap();
            prop_assert!(same(&record, &back), "{record:?}\n{}\n{back:?}", String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn finite_values_are_written_as_serde_json_writes_them(
            x in any::<f64>().prop_filter("finite", |x| x.is_finite()),
            v in proptest::collection::vec(any::<i64>(), 0..4),
            s in any::<String>(),
        ) {
            let value = (x, v, s, Some(1u8), None::<u8>);
            prop_assert_eq!(to_vec(&value).unwrap(), serde_json::to_vec(&value).unwrap());
        }
    }

    #[test]
    fn fields_a_type_no_longer_has_are_skipped() {
        #[derive(serde::Deserialize)]
        struct Fewer {
            b: f64,
        }
        let v: Fewer = from_slice(br#"{"a":[1,{"x":NaN}],"b":-Infinity,"c":"s"}"#).unwrap();
        assert_eq!(v.b, f64::NEG_INFINITY);
    }

    #[test]
    fn some_nan_stays_some_nan() {
        let bytes = to_vec(&(Some(f64::NAN), None::<f64>, Some(f64::NEG_INFINITY))).unwrap();
        assert_eq!(bytes, b"[NaN,null,-Infinity]");
        let back: (Option<f64>, Option<f64>, Option<f64>) = from_slice(&bytes).unwrap();
        assert!(back.0.is_some_and(f64::is_nan));
        assert_eq!((back.1, back.2), (None, Some(f64::NEG_INFINITY)));
    }

    #[test]
    fn bad_text_is_a_syntax_error_and_a_wrong_shape_a_data_error() {
        assert!(matches!(
            from_slice::<Vec<f64>>(b"[1.0, 2.0"),
            Err(CodecError::Syntax { .. })
        ));
        assert!(matches!(
            from_slice::<u32>(b"\"seven\""),
            Err(CodecError::Data(_))
        ));
        assert!(matches!(
            from_slice::<u32>(b"7 8"),
            Err(CodecError::Syntax { .. })
        ));
    }

    #[test]
    fn python_reads_what_is_written() {
        // Python's `json` module (what reads an artifact MLflow downloads) accepts the literals.
        let bytes = to_vec(&(f64::NAN, f64::INFINITY, f64::NEG_INFINITY, Some(0.1))).unwrap();
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import json,sys; v=json.loads(sys.stdin.read()); print(repr(v))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("piped stdin").write_all(&bytes)?;
                child.wait_with_output()
            })
            .expect("python3 runs (the interop checks need it too)");
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "[nan, inf, -inf, 0.1]"
        );
    }
}
