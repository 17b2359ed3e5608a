//! `passcode_streams::sha1_each` against the `sha1` crate, one block at a
//! time: any count of chains from 1 to 41 (a +-20 window and one more), any
//! chaining states and blocks. Where the CPU lacks the SHA extensions it
//! must refuse and change nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 41) + 1;
    // States and blocks from the input, repeated to fill what it lacks.
    let mut bytes = rest
        .iter()
        .copied()
        .chain(core::iter::repeat(0x5a))
        .take(count * (20 + 64));
    let mut states: Vec<[u32; 5]> = (0..count)
        .map(|_| {
            core::array::from_fn(|_| {
                u32::from_be_bytes(core::array::from_fn(|_| bytes.next().unwrap_or(0)))
            })
        })
        .collect();
    let blocks: Vec<[u8; 64]> = (0..count)
        .map(|_| core::array::from_fn(|_| bytes.next().unwrap_or(0)))
        .collect();
    let mut expected = states.clone();
    for (state, block) in expected.iter_mut().zip(&blocks) {
        sha1::block_api::compress(state, core::slice::from_ref(block));
    }
    let before = states.clone();
    if passcode_streams::sha1_each(&mut states, &blocks) {
        assert_eq!(states, expected);
    } else {
        assert!(!passcode_streams::sha1_available());
        assert_eq!(states, before);
    }
    // Unequal lengths are refused and change nothing.
    if count > 1 {
        let mut short = before.clone();
        assert!(!passcode_streams::sha1_each(&mut short, &blocks[1..]));
        assert_eq!(short, before);
    }
});
