//! `medconsent`: the command every party uses (see `cli`).

mod cli;

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = cli::Cli::parse();
    let mut out = cli::Output::new(cli.global.json);
    match cli::run(cli, &mut out).await {
        Ok(()) => out.finish(),
        Err(failure) => {
            let code = failure.exit.code();
            out.fail(&failure);
            std::process::exit(code);
        }
    }
}
