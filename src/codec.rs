//! The codec of every messenger RPC: prost, with small buffers.
//!
//! tonic's default codec reserves 8 KiB per direction of every stream for
//! encoding and decoding. When every WebSocket was a gRPC stream of its own
//! those buffers were most of an idle connection's memory; now an edge's
//! sockets share its one link stream, but a gRPC client's own session is
//! still a stream, as is every REST call, and they mostly carry messages of
//! a few hundred bytes.
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
