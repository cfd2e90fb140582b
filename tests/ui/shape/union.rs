use kalam::AlignedModel;

#[derive(AlignedModel)]
union Bits {
    int: u64,
    float: f64,
}

fn main() {
    let _ = Bits::LAYOUT;
}
