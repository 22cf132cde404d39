//! How a task's output is stored with its run and read back by a resume: an [`OutputCodec`],
//! built for the output type by `#[task]`, writing JSON with `NaN` and infinities
//! ([`xcom`]).

use std::any::{Any, type_name};
use std::fmt;
use std::sync::Arc;

use super::invocation::TaskOutput;
use super::xcom::{self, CodecError};

/// Turns a task's output into bytes (JSON with `NaN` and infinities, see
/// [`xcom`]) and back, so a run stores it as an artifact and a resumed run reuses
/// it.
#[derive(Clone, Copy)]
pub struct OutputCodec {
    /// Serialises an output of the task's type.
    pub encode: fn(&(dyn Any + Send + Sync)) -> Result<Vec<u8>, CodecError>,
    /// Deserialises bytes written by `encode`.
    pub decode: fn(&[u8]) -> Result<TaskOutput, CodecError>,
    /// The output type's name, stored beside the output: a resume whose task now returns
    /// another type reruns it instead of misreading the stored value.
    pub type_name: fn() -> &'static str,
}

impl OutputCodec {
    /// Whether the output carries no data (`()`): like Airflow, which pushes no XCom for a
    /// task that returns `None`, nothing is stored for it, and a resume rebuilds it.
    pub fn is_unit(&self) -> bool {
        (self.type_name)() == "()"
    }
}

impl fmt::Debug for OutputCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutputCodec")
    }
}

/// Why an output cannot be persisted: `#[task]` asks for this bound on the output type.
#[diagnostic::on_unimplemented(
    message = "the output `{Self}` of this task cannot be stored with the run",
    label = "`{Self}` does not implement `serde::Serialize` and `serde::Deserialize`",
    note = "derive `Serialize` and `Deserialize` for it, or mark the task `#[task(persist = false)]` (a resumed run then reruns it)"
)]
pub trait Persist: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {}
// `do_not_recommend`: report the missing `Persist` (whose message names the fix) once, rather
// than each missing serde trait with a list of unrelated implementors.
#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static> Persist for T {}

fn encode<T: Persist>(value: &(dyn Any + Send + Sync)) -> Result<Vec<u8>, CodecError> {
    let value = value
        .downcast_ref::<T>()
        .ok_or_else(|| CodecError::Encode(format!("output is not a `{}`", type_name::<T>())))?;
    xcom::to_vec(value)
}

fn decode<T: Persist>(bytes: &[u8]) -> Result<TaskOutput, CodecError> {
    let value: T = xcom::from_slice(bytes)?;
    Ok(Arc::new(value))
}

/// JSON (with `NaN` and infinities) of the output; its type name is stored beside it.
pub const fn codec<T: Persist>() -> OutputCodec {
    OutputCodec {
        encode: encode::<T>,
        decode: decode::<T>,
        type_name: type_name::<T>,
    }
}

/// A codec from its three functions. `#[task]` passes closures that find the output type by
/// dispatch and call `codec_of`: a constant cannot name that type.
pub const fn codec_from(
    encode: fn(&(dyn Any + Send + Sync)) -> Result<Vec<u8>, CodecError>,
    decode: fn(&[u8]) -> Result<TaskOutput, CodecError>,
    type_name: fn() -> &'static str,
) -> OutputCodec {
    OutputCodec {
        encode,
        decode,
        type_name,
    }
}
