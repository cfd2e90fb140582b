use kalam::AlignedModel;

#[derive(AlignedModel)]
#[kalam(crate = "not a path")]
struct BadPath {
    a: u64,
}

#[derive(AlignedModel)]
#[kalam(krate = "kalam")]
struct UnknownKey {
    a: u64,
}

fn main() {}
