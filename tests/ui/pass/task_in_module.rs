// Generated code must not warn in a user's crate.
#![deny(warnings)]

mod steps {
    use oxflow::prelude::*;

    #[task]
    pub fn load() -> u32 {
        1
    }

    pub mod nested {
        use oxflow::prelude::*;

        #[task]
        pub fn double(x: &u32) -> u32 {
            x * 2
        }
    }
}

use oxflow::prelude::*;

#[dag]
fn pipeline() {
    let n = steps::load();
    crate::steps::nested::double(&n);
}

fn main() {
    assert_eq!(pipeline().nodes.len(), 2);
    // The functions stay ordinary functions.
    assert_eq!(steps::nested::double(&steps::load()), 2);
}
