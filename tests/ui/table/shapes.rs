use kalam::KalamTable;

#[derive(KalamTable)]
struct Pair(u64, u32);

#[derive(KalamTable)]
enum State {
    On,
}

#[derive(KalamTable)]
struct Generic<T> {
    #[column(primary_key)]
    id: T,
}

fn main() {}
