use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(max_size = 16)]
struct NeedsInstances<T> {
    value: T,
}

#[derive(AlignedModel)]
#[layout(max_size = 16, check_with(T = u8))]
struct NotGeneric {
    value: u64,
}

#[derive(AlignedModel)]
#[layout(max_size = 16, check_with(T = u8))]
struct Missing<T, const N: usize> {
    value: T,
    tags: [u8; N],
}

#[derive(AlignedModel)]
#[layout(max_size = 16, check_with(T = u8, U = u8, T = u16))]
struct Unknown<T> {
    value: T,
}

fn main() {}
