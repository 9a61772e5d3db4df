//! A self-contained HTML report: sections of paragraphs, tables, key–value tables (parameters, seeds,
//! timings, tool version) and figures.
//!
//! The page needs no network: the style sheet is inline, PNG figures are embedded as base64
//! `data:image/png` URIs, SVG figures are inlined as `<svg>` elements (their `xmlns` declaration is
//! dropped, as HTML5 places `<svg>` in the SVG namespace by itself), and there is no script.
//! [`Report::to_html`] refuses SVG that points anywhere (`http:`, `https:`, `href`, `<script`).
//! All caller text is escaped (`&`, `<`, `>`, `"`, `'`).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::table::ComparisonTable;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The picture of a figure.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureContent {
    /// PNG bytes, embedded as a base64 data URI.
    Png(Vec<u8>),
    /// A standalone SVG document (`<svg …>…</svg>`, an XML declaration before it is allowed), inlined.
    Svg(String),
}

/// A numbered figure with a caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Identifier, unique in the report, of ASCII letters, digits, `-` and `_`; the figure's HTML
    /// anchor is `fig-<id>`.
    pub id: String,
    /// Caption text (plain text, escaped).
    pub caption: String,
    /// The picture.
    pub content: FigureContent,
}

impl Figure {
    /// A PNG figure.
    pub fn png(id: impl Into<String>, caption: impl Into<String>, png: Vec<u8>) -> Self {
        Figure { id: id.into(), caption: caption.into(), content: FigureContent::Png(png) }
    }

    /// An SVG figure.
    pub fn svg(id: impl Into<String>, caption: impl Into<String>, svg: String) -> Self {
        Figure { id: id.into(), caption: caption.into(), content: FigureContent::Svg(svg) }
    }
}

/// One element of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of plain text.
    Paragraph(String),
    /// Preformatted text (logs, plain-text tables), shown in a monospace font.
    Preformatted(String),
    /// A comparison table of observables.
    Table(ComparisonTable),
    /// A two-column table of names and values (parameters, seeds, timings, versions).
    KeyValues {
        /// Caption above the table.
        caption: String,
        /// `(name, value)` pairs, in order.
        rows: Vec<(String, String)>,
    },
    /// A figure.
    Figure(Figure),
}

/// A titled section of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Heading.
    pub heading: String,
    /// Content, in order.
    pub blocks: Vec<Block>,
}

impl Section {
    /// An empty section.
    pub fn new(heading: impl Into<String>) -> Self {
        Section { heading: heading.into(), blocks: Vec::new() }
    }

    /// Appends a paragraph.
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Paragraph(text.to_string()));
        self
    }

    /// Appends preformatted text.
    pub fn preformatted(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Preformatted(text.to_string()));
        self
    }

    /// Appends a comparison table.
    pub fn table(&mut self, table: ComparisonTable) -> &mut Self {
        self.blocks.push(Block::Table(table));
        self
    }

    /// Appends a key–value table.
    pub fn key_values(&mut self, caption: &str, rows: Vec<(String, String)>) -> &mut Self {
        self.blocks.push(Block::KeyValues { caption: caption.to_string(), rows });
        self
    }

    /// Appends a figure.
    pub fn figure(&mut self, figure: Figure) -> &mut Self {
        self.blocks.push(Block::Figure(figure));
        self
    }
}

/// A whole report: a title and its sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Page title and top heading.
    pub title: String,
    /// Sections, in order; a table of contents links to each.
    pub sections: Vec<Section>,
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;\
color:#222;line-height:1.45}\
h1{font-size:1.7em}h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0}caption{text-align:left;font-weight:bold;padding:.3em 0}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
td{font-variant-numeric:tabular-nums;white-space:nowrap}thead th{background:#f2f2f2}\
tr.reference{background:#f7f7e8}figure{margin:1.5em 0}\
figure img{image-rendering:pixelated;max-width:100%;height:auto}\
figure svg{max-width:100%;height:auto}figcaption{font-size:.92em;color:#444;margin-top:.4em}\
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}nav ol{columns:2}";

impl Report {
    /// A report with no sections.
    pub fn new(title: impl Into<String>) -> Self {
        Report { title: title.into(), sections: Vec::new() }
    }

    /// Appends a section.
    pub fn push(&mut self, section: Section) -> &mut Self {
        self.sections.push(section);
        self
    }

    /// Identifiers of every figure, in order.
    pub fn figure_ids(&self) -> Vec<&str> {
        self.figures().map(|f| f.id.as_str()).collect()
    }

    fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.sections.iter().flat_map(|s| &s.blocks).filter_map(|b| match b {
            Block::Figure(f) => Some(f),
            _ => None,
        })
    }

    /// Renders the report as one HTML5 document.
    ///
    /// # Errors
    /// [`Error::BadIdentifier`] or [`Error::DuplicateFigure`] for figure identifiers,
    /// [`Error::BadSvg`] for SVG that is not one `<svg>` element or refers outside the page, and table
    /// errors ([`ComparisonTable::validate`]).
    pub fn to_html(&self) -> Result<String> {
        let mut seen = HashSet::new();
        for f in self.figures() {
            let valid =
                !f.id.is_empty() && f.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(Error::BadIdentifier { id: f.id.clone() });
            }
            if !seen.insert(f.id.as_str()) {
                return Err(Error::DuplicateFigure { id: f.id.clone() });
            }
        }
        let mut html = String::new();
        html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
        html += &format!("<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n", escape(&self.title));
        html += &format!("<h1>{}</h1>\n", escape(&self.title));
        if self.sections.len() > 1 {
            html += "<nav><ol>\n";
            for (i, s) in self.sections.iter().enumerate() {
                html += &format!("<li><a href=\"#sec-{}\">{}</a></li>\n", i + 1, escape(&s.heading));
            }
            html += "</ol></nav>\n";
        }
        let mut figure_number = 0;
        for (i, section) in self.sections.iter().enumerate() {
            html += &format!("<section id=\"sec-{}\">\n<h2>{}</h2>\n", i + 1, escape(&section.heading));
            for block in &section.blocks {
                match block {
                    Block::Paragraph(text) => html += &format!("<p>{}</p>\n", escape(text)),
                    Block::Preformatted(text) => html += &format!("<pre>{}</pre>\n", escape(text)),
                    Block::Table(table) => html += &table.to_html()?,
                    Block::KeyValues { caption, rows } => {
                        html += &format!(
                            "<table class=\"key-values\">\n<caption>{}</caption>\n<tbody>\n",
                            escape(caption)
                        );
                        for (k, v) in rows {
                            html += &format!(
                                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n",
                                escape(k),
                                escape(v)
                            );
                        }
                        html += "</tbody>\n</table>\n";
                    }
                    Block::Figure(figure) => {
                        figure_number += 1;
                        html += &render_figure(figure, figure_number)?;
                    }
                }
            }
            html += "</section>\n";
        }
        html += "</body>\n</html>\n";
        Ok(html)
    }
}

fn render_figure(figure: &Figure, number: usize) -> Result<String> {
    let id = &figure.id; // validated: no escaping needed
    let picture = match &figure.content {
        FigureContent::Png(bytes) => format!(
            "<img alt=\"Figure {number}\" src=\"data:image/png;base64,{}\">",
            crate::base64::encode(bytes)
        ),
        FigureContent::Svg(svg) => inline_svg(id, svg)?,
    };
    Ok(format!(
        "<figure id=\"fig-{id}\">\n{picture}\n<figcaption><b>Figure {number}.</b> {}</figcaption>\n</figure>\n",
        escape(&figure.caption)
    ))
}

/// Strips an XML declaration and the SVG namespace declarations, then checks that the result is one
/// `<svg>` element with no reference outside the page.
fn inline_svg(id: &str, svg: &str) -> Result<String> {
    let bad = |reason| Error::BadSvg { id: id.to_string(), reason };
    let mut s = svg.trim();
    if s.starts_with("<?xml") {
        s = s
            .find("?>")
            .map(|i| s[i + 2..].trim_start())
            .ok_or_else(|| bad("unterminated XML declaration"))?;
    }
    if !s.starts_with("<svg") || !s.ends_with("</svg>") {
        return Err(bad("must be a single <svg>…</svg> element"));
    }
    let s = s
        .replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "");
    let lower = s.to_ascii_lowercase();
    if lower.contains("http:") || lower.contains("https:") || lower.contains("href") {
        return Err(bad("refers to an outside resource"));
    }
    if lower.contains("<script") || lower.contains("<foreignobject") {
        return Err(bad("contains a script or foreign object"));
    }
    Ok(s)
}
