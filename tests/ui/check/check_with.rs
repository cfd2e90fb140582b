use kalam::AlignedModel;

// One instantiation passes, the other fails; the message names it.
#[derive(AlignedModel)]
#[layout(max_size = 16, check_with(K = u64), check_with(K = [u64; 4]))]
struct Slot<K> {
    key: K,
    len: u32,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(check_with(N = 3))]
struct Tagged<const N: usize> {
    tag: [u8; N],
    value: u64,
    more: u8,
}

fn main() {}
