//! Everything `cloud` prints on stdout: tables, key/value blocks, JSON.
//!
//! Human output uses colour only when stdout is a terminal and `NO_COLOR`
//! is unset; `--json` prints the API's data and nothing else.

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use time::OffsetDateTime;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`.
    pub json: bool,
    /// Colour and styling on stdout.
    pub color: bool,
    /// Whether stdout is a terminal (progress bars, menus).
    pub stdout_tty: bool,
    /// Whether stderr is a terminal.
    pub stderr_tty: bool,
}

/// Whether `NO_COLOR` asks for no colour (set and not empty, per
/// <https://no-color.org>).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Output {
    /// Detects terminals and `NO_COLOR`, and configures `console` to match.
    pub fn detect(json: bool) -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let color = stdout_tty && !no_color();
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(stderr_tty && !no_color());
        Self {
            json,
            color,
            stdout_tty,
            stderr_tty,
        }
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.line(&text);
        Ok(())
    }

    /// Prints one line on stdout. A closed pipe (`cloud … | head`) ends the
    /// program quietly, as other Unix tools do.
    pub fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            std::process::exit(0);
        }
    }

    /// A table with `headers`, aligned, without borders.
    pub fn table(&self, headers: &[&str]) -> Table {
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        if self.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table.set_header(
            headers
                .iter()
                .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
        );
        // The preset pads each cell by one space on both sides; keep the
        // first column flush left, like `docker ps` or `gh`.
        for (i, column) in table.column_iter_mut().enumerate() {
            column.set_padding((u16::from(i > 0), 1));
        }
        table
    }

    /// Prints a table built with [`Output::table`] (trailing spaces cut).
    pub fn print_table(&self, table: &Table) {
        for row in table.lines() {
            self.line(row.trim_end());
        }
    }

    /// Prints `label  value` pairs with the labels aligned.
    pub fn fields(&self, pairs: &[(&str, String)]) {
        let width = pairs
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (k, v) in pairs {
            let label = format!("{k:<width$}");
            self.line(&format!("{}  {v}", self.dim(&label)));
        }
    }

    /// A success line: `✓ text` on a colour terminal, `text` otherwise.
    pub fn success(&self, text: &str) {
        if self.color {
            self.line(&format!("{} {text}", console::style("✓").green().bold()));
        } else {
            self.line(text);
        }
    }

    /// `text` dimmed on a colour terminal.
    pub fn dim(&self, text: &str) -> String {
        console::style(text).dim().to_string()
    }

    /// `text` bold on a colour terminal.
    pub fn bold(&self, text: &str) -> String {
        console::style(text).bold().to_string()
    }
}

/// A cell for a resource state, lower-cased and coloured by meaning
/// (running green, in-between yellow, stopped plain, failed red).
pub fn state_cell(state: &str, color: bool) -> Cell {
    let state = state.to_ascii_lowercase();
    let fg = match state.as_str() {
        "running" => Some(Color::Green),
        "starting" | "stopping" => Some(Color::Yellow),
        "error" => Some(Color::Red),
        "terminated" => Some(Color::DarkGrey),
        _ => None,
    };
    match fg {
        Some(fg) if color => Cell::new(state).fg(fg),
        _ => Cell::new(state),
    }
}

/// A short age such as `just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago`,
/// or the date for anything older than a month.
pub fn relative_time(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds();
    if secs < 0 {
        return "in the future".into();
    }
    match secs {
        0..=4 => "just now".into(),
        5..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        86_400..=2_591_999 => format!("{}d ago", secs / 86_400),
        _ => format!("{}", t.date()),
    }
}

/// Whether `c` is an invisible format character that can make a name
/// display as something else: the Unicode bidirectional controls (the
/// `Bidi_Control` property: U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069), which reorder what follows (`abc\u{202e}txt.exe` shows
/// as `abcexe.txt`), and characters that show as nothing and have no use
/// in a name: ZERO WIDTH SPACE U+200B, WORD JOINER and the invisible
/// operators U+2060–U+2064, the deprecated format controls U+206A–U+206F,
/// the interlinear annotation marks U+FFF9–U+FFFB, SOFT HYPHEN U+00AD and
/// ZERO WIDTH NO-BREAK SPACE (BOM) U+FEFF.
///
/// Not included: ZERO WIDTH NON-JOINER and JOINER (U+200C, U+200D), which
/// Persian and Indic words and emoji sequences (👩‍💻) need, and the tag
/// characters of flag emoji; like look-alike letters, they can make two
/// names look the same, but cannot reorder one.
pub fn is_deceptive_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// `text` (an object key, say) with its control characters escaped
/// (`\u{1b}`, `\n`), so that a hostile key shown on a terminal cannot
/// drive it, and its invisible format characters too
/// ([`is_deceptive_format`]: `\u{202e}`), so that it cannot make itself
/// or the rest of a listing display as something else; everything else as
/// is.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || is_deceptive_format(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A byte count in binary units: `512 B`, `1.5 KiB`, `50.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The first 8 characters of an id, as tables show it.
pub fn short_id(id: &impl std::fmt::Display) -> String {
    id.to_string().chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn keys_are_shown_without_control_characters() {
        assert_eq!(printable("ü/日本 it's \"x\""), "ü/日本 it's \"x\"");
        assert_eq!(printable("a\u{1b}]0;t\u{7}\nb"), "a\\u{1b}]0;t\\u{7}\\nb");
        // Bidirectional and invisible format characters are shown as code
        // points; joiners, which real words and emoji need, are kept.
        assert_eq!(
            printable("abc\u{202E}txt.exe \u{2066}x\u{2069} z\u{200B}w\u{FEFF}\u{AD}\u{61C}"),
            "abc\\u{202e}txt.exe \\u{2066}x\\u{2069} z\\u{200b}w\\u{feff}\\u{ad}\\u{61c}"
        );
        assert_eq!(
            printable("می\u{200C}خواهم 👩\u{200D}💻"),
            "می\u{200C}خواهم 👩\u{200D}💻"
        );
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200B}', '\u{FEFF}',
        ] {
            assert!(is_deceptive_format(c), "U+{:04X}", u32::from(c));
        }
        for c in ['a', 'é', '日', '\u{200C}', '\u{200D}', ' ', '\u{2065}'] {
            assert!(!is_deceptive_format(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn relative_times() {
        let now = OffsetDateTime::now_utc();
        let cases = [
            (Duration::seconds(0), "just now"),
            (Duration::seconds(42), "42s ago"),
            (Duration::minutes(5), "5m ago"),
            (Duration::hours(3), "3h ago"),
            (Duration::days(2), "2d ago"),
            (Duration::seconds(-30), "in the future"),
        ];
        for (ago, want) in cases {
            assert_eq!(relative_time(now - ago, now), want, "{ago}");
        }
        let old = now - Duration::days(100);
        assert_eq!(relative_time(old, now), old.date().to_string());
    }

    #[test]
    fn byte_sizes() {
        for (n, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (50 * 1024 * 1024, "50.0 MiB"),
        ] {
            assert_eq!(human_bytes(n), want, "{n}");
        }
    }

    #[test]
    fn tables_are_aligned_without_colour() {
        let out = Output {
            json: false,
            color: false,
            stdout_tty: false,
            stderr_tty: false,
        };
        let mut t = out.table(&["ID", "NAME"]);
        t.add_row(vec!["1", "alpha"]);
        t.add_row(vec!["22", "b"]);
        let lines: Vec<String> = t.lines().map(|l| l.trim_end().to_owned()).collect();
        assert_eq!(lines, ["ID  NAME", "1   alpha", "22  b"]);
    }
}
