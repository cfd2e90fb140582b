// An alignment given by hand is checked: `Custom` aligns to 8, not 2.
#[kalam::aligned_model]
#[repr(C)]
struct Entry {
    flag: bool,
    #[layout(align = 2)]
    custom: Custom,
}

struct Custom(u64);

fn main() {}
