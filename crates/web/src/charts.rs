//! Charts drawn on the server as SVG: readable without JavaScript, each an image with a text
//! alternative (`<title>` and `<desc>`, named by `aria-labelledby`), always shown beside the
//! table of its figures. Colours come from the Digital Agency design tokens' blues; the map of
//! Japan is a tile grid of the 47 prefectures (no boundary data).

use std::fmt::Write;

/// Escapes text for SVG (XML) content and attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar (or tile) of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The value as the chart writes it (e.g. `12,345` or `48.2%`).
    pub text: String,
}

/// The opening of a chart: an image named by its title and described by `desc`.
fn open(id: &str, width: u32, height: u32, title: &str, desc: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-labelledby="{id}-t {id}-d"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    )
}

/// The text alternative of bars: every label with its value.
fn described(bars: &[Bar]) -> String {
    bars.iter()
        .map(|b| format!("{}: {}", b.label, b.text))
        .collect::<Vec<_>>()
        .join("、")
}

const BAR: &str = "#3460fb";
const AXIS: &str = "#626264";
const INK: &str = "#1a1a1c";

/// Vertical bars in order (e.g. doses per day), with the largest value marked on the axis
/// and the first, middle and last labels under the bars.
pub fn columns(id: &str, title: &str, bars: &[Bar]) -> String {
    let (w, h, left, bottom, top) = (640.0_f64, 220.0_f64, 56.0, 28.0, 12.0);
    let plot_h = h - bottom - top;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let n = bars.len().max(1) as f64;
    let step = (w - left - 8.0) / n;
    let mut s = open(id, w as u32, h as u32, title, &described(bars));
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{y}" stroke="{AXIS}"/><line x1="{left}" y1="{y}" x2="{x2}" y2="{y}" stroke="{AXIS}"/>"#,
        y = h - bottom,
        x2 = w - 4.0
    );
    if let Some(b) = bars.iter().max_by(|a, b| a.value.total_cmp(&b.value)) {
        let _ = write!(
            s,
            r#"<text x="{x}" y="{y}" font-size="11" text-anchor="end" fill="{INK}">{}</text>"#,
            esc(&b.text),
            x = left - 4.0,
            y = top + 10.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{x}" y="{y}" font-size="11" text-anchor="end" fill="{INK}">0</text>"#,
        x = left - 4.0,
        y = h - bottom
    );
    for (i, b) in bars.iter().enumerate() {
        let bh = if max > 0.0 {
            (b.value.max(0.0) / max) * plot_h
        } else {
            0.0
        };
        let x = left + step * i as f64 + step * 0.15;
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{BAR}"/>"#,
            y = h - bottom - bh,
            bw = step * 0.7,
        );
        if i == 0 || i + 1 == bars.len() || i == bars.len() / 2 {
            let _ = write!(
                s,
                r#"<text x="{cx:.1}" y="{ty}" font-size="11" text-anchor="middle" fill="{INK}">{}</text>"#,
                esc(&b.label),
                cx = x + step * 0.35,
                ty = h - 10.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars, largest first (e.g. a prefecture's municipalities by coverage).
pub fn ranked(id: &str, title: &str, bars: &[Bar]) -> String {
    let mut sorted: Vec<&Bar> = bars.iter().collect();
    sorted.sort_by(|a, b| b.value.total_cmp(&a.value));
    let (w, row, label_w, text_w) = (640.0_f64, 18.0_f64, 150.0, 70.0);
    let h = row * sorted.len() as f64 + 8.0;
    let max = sorted.first().map(|b| b.value).unwrap_or(0.0);
    let plot_w = w - label_w - text_w;
    let ranked: Vec<Bar> = sorted.iter().map(|b| (*b).clone()).collect();
    let mut s = open(id, w as u32, h as u32, title, &described(&ranked));
    for (i, b) in sorted.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let bw = if max > 0.0 {
            (b.value.max(0.0) / max) * plot_w
        } else {
            0.0
        };
        let _ = write!(
            s,
            r#"<text x="{tx}" y="{ty:.1}" font-size="12" text-anchor="end" fill="{INK}">{}</text><rect x="{label_w}" y="{ry:.1}" width="{bw:.1}" height="{rh:.1}" fill="{BAR}"/><text x="{vx:.1}" y="{ty:.1}" font-size="12" fill="{INK}">{}</text>"#,
            esc(&b.label),
            esc(&b.text),
            tx = label_w - 6.0,
            ty = y + row * 0.72,
            ry = y + 2.0,
            rh = row - 4.0,
            vx = label_w + bw + 4.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// One prefecture on the tile map.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// The prefecture's two digits (`13`).
    pub code: String,
    pub name: String,
    /// `None`: no figure.
    pub value: Option<f64>,
    pub text: String,
}

/// Where each prefecture's tile lies (column from the west, row from the north).
pub const GRID: [(&str, u8, u8); 47] = [
    ("01", 12, 0),
    ("02", 12, 1),
    ("03", 12, 2),
    ("05", 11, 2),
    ("04", 12, 3),
    ("06", 11, 3),
    ("17", 9, 4),
    ("16", 10, 4),
    ("15", 11, 4),
    ("07", 12, 4),
    ("32", 4, 5),
    ("31", 5, 5),
    ("28", 6, 5),
    ("26", 7, 5),
    ("18", 8, 5),
    ("21", 9, 5),
    ("20", 10, 5),
    ("10", 11, 5),
    ("09", 12, 5),
    ("42", 0, 6),
    ("41", 1, 6),
    ("40", 2, 6),
    ("35", 3, 6),
    ("34", 4, 6),
    ("33", 5, 6),
    ("27", 6, 6),
    ("25", 7, 6),
    ("23", 8, 6),
    ("22", 9, 6),
    ("19", 10, 6),
    ("11", 11, 6),
    ("08", 12, 6),
    ("43", 1, 7),
    ("44", 2, 7),
    ("38", 4, 7),
    ("37", 5, 7),
    ("30", 6, 7),
    ("29", 7, 7),
    ("24", 8, 7),
    ("14", 10, 7),
    ("13", 11, 7),
    ("12", 12, 7),
    ("46", 1, 8),
    ("45", 2, 8),
    ("39", 4, 8),
    ("36", 5, 8),
    ("47", 0, 9),
];

/// The five colours of the map, lightest (lowest) first, with the ink readable on each.
pub const SHADES: [(&str, &str); 5] = [
    ("#e8f1fe", INK),
    ("#c5d7fb", INK),
    ("#7096f8", INK),
    ("#3460fb", "#ffffff"),
    ("#0031d8", "#ffffff"),
];

const NO_FIGURE: &str = "#e6e6e6";

/// The shade of a value against the largest: five equal steps.
pub fn shade(value: f64, max: f64) -> usize {
    if max <= 0.0 || value <= 0.0 {
        return 0;
    }
    (((value / max) * 5.0).ceil() as usize).clamp(1, 5) - 1
}

/// A prefecture's short name on a tile (北海道 whole; 東京都 → 東京, 大阪府 → 大阪, …).
pub fn short_name(name: &str) -> &str {
    if name == "北海道" {
        return name;
    }
    name.strip_suffix(['都', '府', '県']).unwrap_or(name)
}

/// The map of Japan as a grid of 47 tiles, each coloured by its value (five steps of the
/// largest), with a legend.
pub fn tile_map(id: &str, title: &str, tiles: &[Tile], legend_unit: &str) -> String {
    let (size, gap) = (46.0_f64, 3.0_f64);
    let legend_h = 40.0;
    let (w, h) = (13.0 * (size + gap), 10.0 * (size + gap) + legend_h);
    let max = tiles.iter().filter_map(|t| t.value).fold(0.0_f64, f64::max);
    let bars: Vec<Bar> = tiles
        .iter()
        .map(|t| Bar {
            label: t.name.clone(),
            value: t.value.unwrap_or(0.0),
            text: t.text.clone(),
        })
        .collect();
    let mut s = open(id, w as u32, h as u32, title, &described(&bars));
    for (code, col, row) in GRID {
        let Some(t) = tiles.iter().find(|t| t.code == code) else {
            continue;
        };
        let (fill, ink) = match t.value {
            Some(v) => SHADES[shade(v, max)],
            None => (NO_FIGURE, INK),
        };
        let (x, y) = (f64::from(col) * (size + gap), f64::from(row) * (size + gap));
        let _ = write!(
            s,
            r#"<g class="tile" data-code="{code}"><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="4" fill="{fill}"/><text x="{cx}" y="{ny}" font-size="11" text-anchor="middle" fill="{ink}">{}</text><text x="{cx}" y="{vy}" font-size="10" text-anchor="middle" fill="{ink}">{}</text></g>"#,
            esc(short_name(&t.name)),
            esc(&t.text),
            cx = x + size / 2.0,
            ny = y + 19.0,
            vy = y + 35.0,
        );
    }
    // The legend: the five steps with their lower bounds.
    let ly = 10.0 * (size + gap) + 8.0;
    for (i, (fill, _)) in SHADES.iter().enumerate() {
        let x = 4.0 + i as f64 * 92.0;
        let from = max * i as f64 / 5.0;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{ly}" width="20" height="14" fill="{fill}" stroke="{AXIS}"/><text x="{tx}" y="{ty}" font-size="11" fill="{INK}">{from:.1}{}〜</text>"#,
            esc(legend_unit),
            tx = x + 24.0,
            ty = ly + 12.0,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefecture_has_one_tile_of_its_own() {
        let mut codes: Vec<&str> = GRID.iter().map(|(c, _, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 47);
        assert_eq!(codes.first(), Some(&"01"));
        assert_eq!(codes.last(), Some(&"47"));
        let mut places: Vec<(u8, u8)> = GRID.iter().map(|(_, c, r)| (*c, *r)).collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(places.len(), 47, "two prefectures on one tile");
    }

    #[test]
    fn shades_step_by_fifths_of_the_largest() {
        assert_eq!(shade(0.0, 10.0), 0);
        assert_eq!(shade(1.0, 10.0), 0);
        assert_eq!(shade(2.1, 10.0), 1);
        assert_eq!(shade(10.0, 10.0), 4);
        assert_eq!(shade(5.0, 0.0), 0);
    }

    #[test]
    fn charts_are_images_with_their_figures_as_text() {
        let bars = vec![
            Bar {
                label: "12/01".into(),
                value: 10.0,
                text: "10".into(),
            },
            Bar {
                label: "<script>".into(),
                value: 30.0,
                text: "30".into(),
            },
        ];
        for svg in [
            columns("c", "接種回数", &bars),
            ranked("r", "接種率", &bars),
        ] {
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
            assert!(svg.contains(r#"role="img""#));
            assert!(svg.contains("<title id="));
            assert!(svg.contains("12/01: 10"), "{svg}");
            assert!(!svg.contains("<script>"), "labels are escaped: {svg}");
        }
        let map = tile_map(
            "m",
            "都道府県別の接種率",
            &[
                Tile {
                    code: "13".into(),
                    name: "東京都".into(),
                    value: Some(50.0),
                    text: "50.0%".into(),
                },
                Tile {
                    code: "01".into(),
                    name: "北海道".into(),
                    value: None,
                    text: "—".into(),
                },
            ],
            "%",
        );
        assert_eq!(map.matches(r#"class="tile""#).count(), 2);
        assert!(map.contains(">東京<") && map.contains(">北海道<"));
        assert!(map.contains(SHADES[4].0), "the largest is darkest");
        assert!(map.contains(NO_FIGURE));
    }
}
