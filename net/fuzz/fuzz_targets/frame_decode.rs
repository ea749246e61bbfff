//! Fuzzes the frame decoder: no input may panic, every error must name its fault, and
//! whatever decodes must re-encode to the same bytes.
#![no_main]

use basalt_net::frame::{decode, encode_with_version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok((frame, used)) => {
            let again = encode_with_version(&frame.message, frame.version).expect("a decoded frame re-encodes");
            assert_eq!(&again[..], &data[..used]);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
