use oxflow::task;

#[task]
fn count(data: impl IntoIterator<Item = u32>) -> usize {
    data.into_iter().count()
}

fn main() {}
