use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(max_sise = 64)]
struct Typo {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(kalam::optimal)]
struct Path {
    a: u64,
}

fn main() {}
