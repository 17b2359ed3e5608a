//! `passcode_streams::hmac_sha1_counters` and `hmac_sha1_truncated` against
//! HMAC-SHA-1 built from the `sha1` crate's compression and padded blocks,
//! and RFC 4226's truncation by indexing: any prepared inner and outer
//! states, any run of 1 to 41 consecutive counters (wrapping past
//! `u64::MAX`), through whichever kernel this CPU picks for each group.
//! Where it runs nothing, it must refuse and change nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// HMAC-SHA-1 of `counter` from prepared states, block by block.
fn reference(inner: &[u32; 5], outer: &[u32; 5], counter: u64) -> [u32; 5] {
    let mut block = [0u8; 64];
    block[..8].copy_from_slice(&counter.to_be_bytes());
    block[8] = 0x80;
    block[56..].copy_from_slice(&((64u64 + 8) * 8).to_be_bytes());
    let mut state = *inner;
    sha1::block_api::compress(&mut state, core::slice::from_ref(&block));
    let mut block = [0u8; 64];
    for (chunk, word) in block.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    block[20] = 0x80;
    block[56..].copy_from_slice(&((64u64 + 20) * 8).to_be_bytes());
    let mut state = *outer;
    sha1::block_api::compress(&mut state, core::slice::from_ref(&block));
    state
}

/// RFC 4226 §5.3's dynamic truncation, indexing the digest's bytes.
fn truncation(mac: &[u32; 5]) -> u32 {
    let bytes: Vec<u8> = mac.iter().flat_map(|w| w.to_be_bytes()).collect();
    let offset = usize::from(bytes[19] & 0x0f);
    u32::from_be_bytes(bytes[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff
}

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 41) + 1;
    // States and the first counter from the input, repeated to fill what
    // it lacks.
    let mut bytes = rest.iter().copied().chain(core::iter::repeat(0xa5)).take(48);
    let mut word = || u32::from_be_bytes(core::array::from_fn(|_| bytes.next().unwrap_or(0)));
    let inner: [u32; 5] = core::array::from_fn(|_| word());
    let outer: [u32; 5] = core::array::from_fn(|_| word());
    let start = u64::from(word()) << 32 | u64::from(word());
    let counters: Vec<u64> = (0..count as u64).map(|i| start.wrapping_add(i)).collect();
    let mut out = vec![[7u32; 5]; count];
    let mut values = vec![7u32; count];
    if passcode_streams::hmac_sha1_counters(&inner, &outer, &counters, &mut out) {
        assert!(passcode_streams::hmac_sha1_truncated(&inner, &outer, &counters, &mut values));
        for ((counter, got), value) in counters.iter().zip(&out).zip(&values) {
            let expected = reference(&inner, &outer, *counter);
            assert_eq!(*got, expected, "counter {counter}");
            assert_eq!(*value, truncation(&expected), "counter {counter}");
        }
    } else {
        assert!(!passcode_streams::hmac_sha1_available());
        assert!(!passcode_streams::hmac_sha1_truncated(&inner, &outer, &counters, &mut values));
        assert_eq!(out, vec![[7u32; 5]; count]);
        assert_eq!(values, vec![7u32; count]);
    }
    // Unequal lengths are refused and change nothing.
    let mut short = vec![[7u32; 5]; count - 1];
    assert!(!passcode_streams::hmac_sha1_counters(&inner, &outer, &counters, &mut short));
    assert_eq!(short, vec![[7u32; 5]; count - 1]);
});
