//! Prints who uses whom in a crate, to see where an order breaks:
//! `cargo run -p layers --example uses -- core-service/src [module]`
//! (with a module, only the uses of it and by it).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let src = arguments.next().ok_or("which crate's sources?")?;
    let only = arguments.next();
    let graph = layers::graph::read_crate(std::path::Path::new(&src))?;
    for ((from, to), file) in &graph.uses {
        let wanted = only.as_ref().is_none_or(|m| from == m || to == m);
        if wanted {
            println!("{from:>28} → {to:<28} {}", file.display());
        }
    }
    Ok(())
}
