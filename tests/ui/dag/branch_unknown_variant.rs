use oxflow::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
enum Route {
    Retrain,
    Keep,
}

#[task]
fn choose() -> Route {
    Route::Keep
}

#[task]
fn retrain() {}

#[task]
fn keep() {}

#[dag]
fn pipeline() {
    let route = choose();
    match route {
        Route::Retrain => retrain(),
        Route::Keep => keep(),
        Route::Retire => {}
    }
}

fn main() {}
