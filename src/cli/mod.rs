//! The command line: the one front end that parses flags. `args` holds the clap arguments and
//! their value parsers, `commands` and `restore` one handler per subcommand (each turns flags
//! into the library's plain options at one place), `output` the overwrite policy, `progress`
//! the bars, `interrupt` the signals that stop training, `report` the text of `info` and
//! `inspect`. Nothing in the library imports this module.

pub mod args;
pub mod commands;
mod examples;
pub mod interrupt;
pub mod output;
mod parse;
pub mod progress;
pub mod report;
pub mod restore;
pub mod serve;
