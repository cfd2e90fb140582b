use kalam::KalamTable;

// Each mistake in declaring how a table's rows evolve, with the error on the attribute
// that makes it.
#[derive(KalamTable)]
#[table(version = 2)]
struct Account {
    #[column(primary_key, since = 2)]
    id: i64,
    #[column(default = 5)]
    limit: i64,
    #[column(since = 3)]
    email: Option<String>,
    #[column(since = 2)]
    phone: Option<String>,
    owner: String,
    #[column(skip, since = 2)]
    cache: Vec<u8>,
}

// Version 3's column declared before version 2's.
#[derive(KalamTable)]
#[table(version = 3)]
struct Order {
    #[column(primary_key)]
    id: i64,
    #[column(since = 3)]
    note: Option<String>,
    #[column(since = 2)]
    total: i64,
}

fn main() {}
