// Without check_with, a generic type's layout is computed for each use.
use kalam::AlignedModel;

#[derive(AlignedModel)]
struct Pair<'a, A, B: Copy, const N: usize>
where
    A: Clone,
{
    a: A,
    b: [B; N],
    name: &'a str,
}

fn main() {
    let small = <Pair<'static, u8, u8, 1> as AlignedModel>::LAYOUT;
    let large = <Pair<'static, u64, u32, 3> as AlignedModel>::LAYOUT;
    assert_eq!(small.size, core::mem::size_of::<Pair<'static, u8, u8, 1>>());
    assert_eq!(large.size, core::mem::size_of::<Pair<'static, u64, u32, 3>>());
    assert_eq!(large.field("b").map(|f| f.size), Some(12));
    assert_eq!(large.field("b").map(|f| f.ty), Some("[B; N]"));
}
