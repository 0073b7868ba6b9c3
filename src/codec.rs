//! The codec of every messenger RPC: prost, with small buffers.
//!
//! tonic's default codec reserves 8 KiB per direction of every stream for
//! encoding and decoding. A session is a long-lived stream per WebSocket
//! that mostly carries messages of a few hundred bytes, so on a server
//! holding tens of thousands of sessions those buffers are most of its memory.
//! Buffers here start at 256 bytes, enough for a typical operation, and grow
//! for larger messages (a history page grows them a few times; measured,
//! that costs nothing visible in history requests per second).

use prost::Message;
use std::marker::PhantomData;
use tonic::codec::{BufferSettings, Codec};
use tonic_prost::{ProstDecoder, ProstEncoder};

/// Initial size and growth step of each buffer.
const BUFFER_BYTES: usize = 256;
/// Encoded bytes gathered before they are handed to the transport (tonic's
/// default).
const YIELD_BYTES: usize = 32 * 1024;

fn settings() -> BufferSettings {
    BufferSettings::new(BUFFER_BYTES, YIELD_BYTES)
}

/// [`tonic_prost::ProstCodec`] with [`BUFFER_BYTES`] buffers; the generated
/// clients and servers use it (see `build.rs`).
pub struct SmallBufferCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for SmallBufferCodec<T, U> {
    fn default() -> Self {
        SmallBufferCodec(PhantomData)
    }
}

impl<T, U> Codec for SmallBufferCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(settings())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder::new(settings())
    }
}
