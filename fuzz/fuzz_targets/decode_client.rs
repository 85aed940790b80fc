//! Fuzzes `decode_client`, the first code that touches client input on the server.
//!
//! Any text must give a message or a typed `DecodeError`, never a panic. Beyond that, cheap
//! properties: a decoded message re-encodes to text that decodes to the same message (decoding
//! normalises, e.g. duplicate symbols, so this checks that normal forms are stable), and the
//! `error` reply the server would send is itself a server message a client can decode and stays
//! short (client input is quoted only in bounded pieces).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ticker_shared::{DecodeError, MAX_CLIENT_MESSAGE_BYTES, decode_client, decode_server};

fuzz_target!(|data: &[u8]| {
    // The server closes a connection whose text frame is not UTF-8 (1007) before it decodes, so
    // the decoder only ever sees `str`. Invalid bytes become U+FFFD rather than being skipped:
    // every mutation still reaches the decoder, and multi-byte characters land where error
    // messages cut client text short.
    check(&String::from_utf8_lossy(data));
});

/// Error replies quote client input only in short pieces, whatever the input.
const MAX_ERROR_REPLY_BYTES: usize = 512;

fn check(text: &str) {
    let decoded = decode_client(text);
    assert_eq!(
        matches!(decoded, Err(DecodeError::TooLarge { .. })),
        text.len() > MAX_CLIENT_MESSAGE_BYTES,
        "the size limit is the first check, and only it rejects for size"
    );
    match decoded {
        Ok(message) => {
            let json = message.to_json();
            assert_eq!(
                decode_client(&json),
                Ok(message),
                "re-encoded as {json}, it decodes to something else"
            );
        }
        Err(err) => {
            let reply = err.to_message();
            let json = reply.to_json();
            assert!(
                json.len() <= MAX_ERROR_REPLY_BYTES,
                "a {} byte error reply echoes too much of the input: {json}",
                json.len()
            );
            assert_eq!(
                decode_server(&json).ok(),
                Some(reply),
                "the error reply {json} does not decode"
            );
        }
    }
}
