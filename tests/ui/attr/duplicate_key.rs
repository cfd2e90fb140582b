use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(max_size = 64, max_size = 32)]
struct Twice {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(optimal)]
#[layout(optimal)]
struct TwoAttrs {
    a: u64,
}

fn main() {}
