use kalam::KalamTable;

#[derive(KalamTable)]
#[table(name = "jobs", nmespace = "system", version = 300)]
struct Job {
    #[column(primary_key, primary_key)]
    id: u64,
    #[column(name = "two words")]
    name: String,
    #[column(skip, nullable)]
    cache: Vec<u8>,
    #[column(index)]
    other: u8,
}

#[derive(KalamTable)]
struct NoKey {
    id: u64,
}

#[derive(KalamTable)]
struct OptionalKey {
    #[column(primary_key)]
    id: Option<u64>,
    #[column(name = "id")]
    also_id: u8,
}

fn main() {}
