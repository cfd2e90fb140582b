use kalam::AlignedModel;

// `copy` is checked: a String cannot be returned by value from `&self`.
#[derive(AlignedModel)]
struct User {
    #[hot(copy)]
    name: String,
}

fn main() {}
