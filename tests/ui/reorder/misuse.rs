use kalam::AlignedModel;

#[kalam::aligned_model(fast)]
#[repr(C)]
struct WithArgs {
    flag: bool,
}

#[kalam::aligned_model]
#[derive(Debug, AlignedModel)]
#[repr(C)]
struct Twice {
    flag: bool,
}

#[kalam::aligned_model]
#[repr(C)]
struct FieldKeys {
    #[layout(max_size = 8)]
    a: u64,
    #[layout(align = 3)]
    b: u32,
}

fn main() {
    let _ = WithArgs { flag: true };
    let _ = Twice { flag: true };
    let _ = FieldKeys { a: 1, b: 2 };
    let _ = <Twice as AlignedModel>::LAYOUT;
}
