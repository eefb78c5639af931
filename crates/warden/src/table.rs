//! Plain-text tables for terminal listings: left-aligned columns sized to
//! their widest cell, no trailing spaces, so output also greps and diffs well.
//! Cells are names, labels and descriptions from files and callers: each is
//! escaped ([`warden_model::shown`]) so that a control character neither
//! reaches the terminal nor breaks a row in two.

pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| warden_model::shown(&c).into_owned()).collect());
    }

    /// Renders with every line prefixed by `indent`.
    pub fn render(&self, indent: &str) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::from(indent);
            for (i, cell) in cells.enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if i + 1 < columns {
                    text.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(cell.chars().count())));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().copied());
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let mut t = Table::new(&["ID", "NAME", "ROLES"]);
        t.row(vec!["alice".into(), "Alice Jensen".into(), "2".into()]);
        t.row(vec!["bo".into(), String::new(), "10".into()]);
        assert_eq!(t.render(""), "ID     NAME          ROLES\nalice  Alice Jensen  2\nbo                   10\n");
    }

    #[test]
    fn cells_are_escaped_and_stay_on_their_row() {
        let mut t = Table::new(&["NAME", "LABEL"]);
        t.row(vec!["r".into(), "A\u{1b}[31mred\nforged row".into()]);
        assert_eq!(t.render(""), "NAME  LABEL\nr     A\\u{1b}[31mred\\u{a}forged row\n");
    }
}
