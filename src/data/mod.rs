//! Input records shared by the domain modules and the command-line tool.

pub mod series;
pub mod table;
