use kalam::AlignedModel;

#[derive(AlignedModel)]
struct Tuple(#[hot] u64, u32);

#[derive(AlignedModel)]
struct Twice {
    #[hot]
    #[hot]
    a: u64,
}

#[derive(AlignedModel)]
struct WithValue {
    #[hot = "yes"]
    a: u64,
}

#[derive(AlignedModel)]
struct LayoutOnField {
    #[layout(max_size = 8)]
    a: u64,
}

fn main() {}
