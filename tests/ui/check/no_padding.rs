use kalam::AlignedModel;

// The tail padding cannot be removed by reordering; the message says so.
#[derive(AlignedModel)]
#[layout(no_padding)]
struct Entry {
    key: u64,
    tag: u8,
}

fn main() {}
