use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(max_size = "64")]
struct Text {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(max_size)]
struct Missing {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(optimal = true)]
struct FlagWithValue {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(size = 16u8)]
struct Suffix {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(max_padding = -1)]
struct Negative {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(cache_line = 48, no_straddle)]
struct OddLine {
    a: u64,
}

fn main() {}
