use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(optimal, no_padding, hot_first_line)]
enum State {
    On,
    Off,
}

#[derive(AlignedModel)]
#[layout(max_variant_size = 8)]
struct NotAnEnum {
    a: u64,
}

#[derive(AlignedModel)]
enum Marked {
    #[hot]
    A(#[hot] u8),
}

fn main() {}
