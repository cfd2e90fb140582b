use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(size = 32, max_size = 16)]
struct SizeOverMax {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(no_padding, max_padding = 4)]
struct PaddingTwice {
    a: u64,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(optimal, allow_waste)]
struct WasteAndOptimal {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(cache_line = 128)]
struct LineAlone {
    a: u64,
}

#[derive(AlignedModel)]
#[layout(hot_first_line)]
struct NothingHot {
    a: u64,
}

fn main() {}
