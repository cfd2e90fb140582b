// repr(Rust) is already reordered by rustc; packed and transparent have no padding.
#[kalam::aligned_model]
struct Rusty {
    flag: bool,
    count: u64,
}

#[kalam::aligned_model]
#[repr(C, packed)]
struct Wire {
    flag: bool,
    count: u64,
}

#[kalam::aligned_model]
#[repr(transparent)]
struct Wrapper {
    inner: u64,
}

fn main() {
    let _ = Rusty { flag: true, count: 1 };
    let _ = Wire { flag: true, count: 1 };
    let _ = Wrapper { inner: 1 };
}
