#[kalam::aligned_model]
#[repr(C)]
struct Pair(u8, u64);

#[kalam::aligned_model]
#[repr(u8)]
enum State {
    On,
    Off,
}

#[kalam::aligned_model]
fn not_a_struct() {}

fn main() {
    let _ = Pair(1, 2);
    let _ = State::On;
}
