//! Delta-PATCH bodies: any bytes are either a parsed body or a Graph error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = backstore_api::body::patch_body(data, &backstore_domain::Limits::SERVICE);
});
