//! A numeric table read from CSV: named columns of `f64`, with missing cells as NaN.
//!
//! This is how the command-line tool (and the comparison scripts that drive it) hand data to
//! the models. Every cell must be a number or a missing marker (empty, `NA`, `NaN`, `null`,
//! `N/A`, any case); anything else is a parse error naming the row and column, so a stray
//! string column is caught instead of silently becoming missing.

use std::io::Read;
use std::path::Path;

use ndarray::Array2;

use crate::error::{Error, Result};

/// Named numeric columns of equal length.
///
/// ```
/// use tenantml::data::table::Table;
/// let t = Table::from_reader("x,y\n1,2\n,4\n".as_bytes())?;
/// assert_eq!(t.n_rows(), 2);
/// assert!(t.column("x").unwrap()[1].is_nan());
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
}

fn is_missing(cell: &str) -> bool {
    cell.is_empty()
        || ["na", "nan", "null", "n/a"]
            .iter()
            .any(|m| cell.eq_ignore_ascii_case(m))
}

impl Table {
    /// Reads a CSV file with a header row.
    pub fn read_csv(path: &Path) -> Result<Table> {
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            context: format!("opening {}", path.display()),
            source,
        })?;
        Table::from_reader(std::io::BufReader::new(file))
            .map_err(|e| with_context(e, &path.display().to_string()))
    }

    /// Reads CSV text with a header row.
    pub fn from_reader(reader: impl Read) -> Result<Table> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let names: Vec<String> = csv
            .headers()
            .map_err(|e| Error::Parse(format!("CSV header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        if names.is_empty() || names.iter().all(String::is_empty) {
            return Err(Error::Parse("CSV has no header row".into()));
        }
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::Parse(format!("CSV column {} has no name", i + 1)));
            }
            if names[..i].contains(name) {
                return Err(Error::Parse(format!("CSV column '{name}' appears twice")));
            }
        }
        let mut columns = vec![Vec::new(); names.len()];
        for (i, record) in csv.records().enumerate() {
            // Line numbers count the header as line 1.
            let line = i + 2;
            let record = record.map_err(|e| Error::Parse(format!("CSV line {line}: {e}")))?;
            for ((cell, column), name) in record.iter().zip(&mut columns).zip(&names) {
                let value = if is_missing(cell) {
                    f64::NAN
                } else {
                    cell.parse::<f64>().map_err(|_| {
                        Error::Parse(format!(
                            "CSV line {line}, column '{name}': '{cell}' is not a number"
                        ))
                    })?
                };
                column.push(value);
            }
        }
        if columns[0].is_empty() {
            return Err(Error::Parse("CSV has a header but no data rows".into()));
        }
        Ok(Table { names, columns })
    }

    /// Column names in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.columns[0].len()
    }

    /// The values of a column, if there is one with that name.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
    }

    /// The named columns as a row-major matrix, in the order given; a name the table lacks is
    /// an error naming it.
    pub fn matrix(&self, names: &[String]) -> Result<Array2<f64>> {
        let cols: Vec<&[f64]> = names
            .iter()
            .map(|n| {
                self.column(n)
                    .ok_or_else(|| Error::InvalidArgument(format!("the data has no column '{n}'")))
            })
            .collect::<Result<_>>()?;
        Ok(Array2::from_shape_fn(
            (self.n_rows(), cols.len()),
            |(r, c)| cols[c][r],
        ))
    }
}

fn with_context(e: Error, file: &str) -> Error {
    match e {
        Error::Parse(m) => Error::Parse(format!("{file}: {m}")),
        other => other,
    }
}

/// Writes one numeric column with a header, full precision (shortest round-trip form).
pub fn write_column(path: &Path, name: &str, values: &[f64]) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        context: format!("writing {}", path.display()),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "{name}").map_err(io)?;
    for v in values {
        writeln!(w, "{v}").map_err(io)?;
    }
    w.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Table> {
        Table::from_reader(text.as_bytes())
    }

    #[test]
    fn numbers_missing_markers_and_quotes() {
        let t = read("a,\"b\", c\n1,NA,\"3.5\"\n-2e3,,nan\ninf,null,N/A\n").unwrap();
        assert_eq!(t.names(), ["a", "b", "c"]);
        assert_eq!(t.column("a").unwrap()[..2], [1.0, -2000.0]);
        assert_eq!(t.column("a").unwrap()[2], f64::INFINITY);
        assert!(t.column("b").unwrap().iter().all(|v| v.is_nan()));
        assert_eq!(t.column("c").unwrap()[0], 3.5);
        let m = t.matrix(&["c".into(), "a".into()]).unwrap();
        assert_eq!(m[[0, 0]], 3.5);
        assert_eq!(m[[1, 1]], -2000.0);
    }

    #[test]
    fn bad_tables_say_what_is_wrong() {
        let cases = [
            ("", "no header"),
            ("a,b\n", "no data rows"),
            ("a,a\n1,2\n", "appears twice"),
            ("a,\n1,2\n", "has no name"),
            ("a,b\n1,2\n3\n", "line 3"),
            ("a,b\n1,x\n", "line 2, column 'b': 'x' is not a number"),
        ];
        for (text, expected) in cases {
            let err = read(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let t = read("a\n1\n").unwrap();
        assert!(t
            .matrix(&["z".into()])
            .unwrap_err()
            .to_string()
            .contains("no column 'z'"));
    }
}
