use kalam::KalamTable;

struct Money(u64);

// A type the table does not know: the error is on the field, and says what to do. Without
// the `arrow` feature there is no Arrow column to complain about (tests/ui-arrow has the
// case with it).
#[derive(KalamTable)]
struct Account {
    #[column(primary_key)]
    id: u64,
    balance: Money,
}

fn main() {}
