//! Small text widgets shared by panes: CPU bars, sparklines, severity glyphs, ages.

use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use crate::model::SeverityBand;
use crate::theme::Theme;

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// Theme role for a CPU percentage.
pub fn cpu_role(pct: f64) -> &'static str {
    if pct >= crate::model::risk::SATURATED_PCT {
        "cpu-high"
    } else if pct >= 60.0 {
        "cpu-mid"
    } else {
        "cpu-low"
    }
}

/// Style for a CPU percentage (bold when saturated, so NO_COLOR still shows it).
pub fn cpu_style(theme: &Theme, pct: f64) -> Style {
    let s = theme.fg(cpu_role(pct));
    if pct >= crate::model::risk::SATURATED_PCT {
        s.add_modifier(Modifier::BOLD)
    } else {
        s
    }
}

/// A horizontal bar `width` cells wide with eighth-cell resolution.
pub fn bar(pct: f64, width: usize) -> String {
    let cells = (pct.clamp(0.0, 100.0) / 100.0) * width as f64;
    let full = cells.floor() as usize;
    let mut s: String = "█".repeat(full.min(width));
    if full < width {
        let frac = ((cells - full as f64) * 8.0).floor() as usize;
        s.push(EIGHTHS[frac.min(7)]);
        s.push_str(&" ".repeat(width - full - 1));
    }
    s
}

/// A sparkline of the last `width` values (0-100), one block character each.
pub fn sparkline(values: &[f64], width: usize) -> String {
    let start = values.len().saturating_sub(width);
    let mut s: String = values[start..]
        .iter()
        .map(|v| BLOCKS[((v.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect();
    let pad = width.saturating_sub(values.len() - start);
    if pad > 0 {
        s = " ".repeat(pad) + &s;
    }
    s
}

/// An account's daily cost of the last days as a sparkline, scaled to its dearest day (empty
/// without Cost Explorer figures).
pub fn cost_sparkline(costs: Option<&crate::model::price::AccountCosts>) -> String {
    let Some(c) = costs.filter(|c| !c.daily.is_empty()) else {
        return String::new();
    };
    let max = c.daily.iter().map(|d| d.total).fold(0.0, f64::max);
    let scaled: Vec<f64> = c
        .daily
        .iter()
        .map(|d| {
            if max > 0.0 {
                d.total / max * 100.0
            } else {
                0.0
            }
        })
        .collect();
    sparkline(&scaled, scaled.len())
}

/// Glyph marking a row's worst severity; readable without colour.
pub fn severity_glyph(band: Option<SeverityBand>) -> &'static str {
    match band {
        Some(SeverityBand::Critical) => "‼",
        Some(SeverityBand::High) => "!",
        Some(SeverityBand::Medium) => "•",
        Some(SeverityBand::Low) => "·",
        None => " ",
    }
}

/// Styled severity span, e.g. `3 H`.
pub fn findings_span(theme: &Theme, count: usize, worst: Option<f64>) -> Span<'static> {
    match worst {
        Some(sev) if count > 0 => {
            let band = SeverityBand::of(sev);
            Span::styled(format!("{count} {}", band.letter()), theme.severity(band))
        }
        _ => Span::styled("-", theme.fg("muted")),
    }
}

/// Human age: `4s`, `3m`, `2h`, `5d`.
pub fn age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Truncates to `width` display columns with an ellipsis.
pub fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_sparklines() {
        assert_eq!(bar(0.0, 4), "    ");
        assert_eq!(bar(100.0, 4), "████");
        assert_eq!(bar(50.0, 4), "██  ");
        assert_eq!(bar(56.25, 4), "██▎ ");
        assert_eq!(sparkline(&[0.0, 100.0], 4), "  ▁█");
        assert_eq!(sparkline(&[0.0, 50.0, 100.0], 2), "▅█");
    }

    #[test]
    fn ages_and_fit() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(125), "2m");
        assert_eq!(age(7300), "2h");
        assert_eq!(age(200_000), "2d");
        assert_eq!(fit("bastion-legacy", 8), "bastion…");
        assert_eq!(fit("web", 8), "web");
    }
}
