//! Charts drawn on the server as SVG: horizontal bars, each a link to the
//! list it counts, with the numbers written beside them (no script, no
//! chart library, readable by a screen reader through its label).

use maud::{html, Markup};

/// One bar: label, value, where it links.
pub struct Bar {
    pub label: String,
    pub value: usize,
    pub href: String,
}

const WIDTH: usize = 320;
const ROW: usize = 26;
const LABEL: usize = 120;

/// A horizontal bar chart of `bars` in a figure captioned `title`.
pub fn bars(title: &str, bars: &[Bar]) -> Markup {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = ROW * bars.len().max(1) + 4;
    let summary = bars.iter().map(|b| format!("{}: {}", b.label, b.value)).collect::<Vec<_>>().join(", ");
    let span = WIDTH - LABEL - 48;
    html! {
        figure {
        figcaption { (title) }
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {height}")) width=(WIDTH) height=(height) role="group" aria-label=(format!("{title}: {summary}")) {
            title { (title) ": " (summary) }
            @for (i, b) in bars.iter().enumerate() {
                @let y = i * ROW + 2;
                @let w = if b.value == 0 { 0 } else { (b.value * span / max).max(2) };
                a href=(b.href) aria-label=(format!("{}: {}", b.label, b.value)) {
                    text x="0" y=(y + 17) font-size="12" fill="#1b1f24" { (truncate(&b.label)) }
                    rect x=(LABEL) y=(y + 4) width=(w) height=(ROW - 8) fill="#0a58ca" rx="2" {}
                    text x=(LABEL + w + 6) y=(y + 17) font-size="12" fill="#1b1f24" { (b.value) }
                }
            }
        }
        }
    }
}

fn truncate(label: &str) -> String {
    if label.chars().count() > 18 {
        format!("{}…", label.chars().take(17).collect::<String>())
    } else {
        label.to_string()
    }
}
