// One bad #[column] is one error: the stub `Table` impl keeps every use of the type
// compiling, so no "`Job: Table` is not satisfied" follows it.
use kalam::{KalamTable, Table};

#[derive(KalamTable)]
struct Job {
    #[column(primary_key, sise = 3)]
    id: u64,
    status: u8,
}

fn store<T: Table>(row: &T) -> Vec<u8> {
    row.to_row()
}

fn main() {
    let job = Job { id: 1, status: 0 };
    let _ = job.key();
    let _ = store(&job);
    let _ = Job::decode(&[]);
    let _ = Job::COLUMNS.len();
}
