mod model {
    use kalam::AlignedModel;

    #[derive(AlignedModel)]
    pub struct Job {
        #[hot(vis = pub(self))]
        id: u64,
        #[hot]
        name: String,
    }

    pub fn job() -> Job {
        Job { id: 7, name: String::new() }
    }
}

fn main() {
    let job = model::job();
    let _ = job.name(); // the struct's visibility: pub
    let _ = job.id(); // private to `model`
}
