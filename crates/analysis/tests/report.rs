//! The HTML report is well-formed, embeds every figure it names, refers to nothing outside itself,
//! and escapes caller text.

use kadanoff_analysis::base64;
use kadanoff_analysis::image::{spin_grid_png, GridLayout};
use kadanoff_analysis::plot::{LinePlot, Series, SeriesStyle};
use kadanoff_analysis::report::{escape, Figure, Report, Section};
use kadanoff_analysis::table::{ComparisonTable, DataSource, Value};
use kadanoff_analysis::Error;
use ndarray::array;

/// HTML void elements (never closed).
const VOID: [&str; 6] = ["meta", "img", "br", "hr", "link", "input"];

/// Checks that every element opened is closed, in order; returns the first problem found.
fn check_balanced(html: &str) -> Result<usize, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    let mut elements = 0;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').ok_or("unterminated tag")?;
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('!') {
            continue; // <!DOCTYPE html>
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if open != name.trim() {
                return Err(format!("</{name}> closes <{open}>"));
            }
            continue;
        }
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if name.is_empty() {
            return Err(format!("bad tag <{tag}>"));
        }
        elements += 1;
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        stack.push(name);
    }
    if stack.is_empty() {
        Ok(elements)
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

fn sample_report() -> (Report, Vec<u8>) {
    let spins = array![[1i8, -1, -1, 1]];
    let png = spin_grid_png(spins.view(), &GridLayout { side: 2, scale: 4, columns: None }).unwrap();
    let mut plot = LinePlot::new("Flow <K_n>", "n", "K_n");
    plot.series.push(Series::new(
        "K_0 = 1 & more",
        vec![(0.0, 1.0), (1.0, 0.66)],
        SeriesStyle::LineAndMarkers,
    ));
    let svg = plot.to_svg().unwrap();

    let mut table = ComparisonTable::new("L = 2 <tiny>", vec!["energy per site e".into()]);
    table.push_row(DataSource::Exact, vec![Some(Value::exact(-1.5))]).unwrap();
    table.push_row(DataSource::MonteCarlo, vec![Some(Value::estimate(-1.49, 0.02))]).unwrap();
    table.reference = Some(0);

    let mut intro = Section::new("Setup & parameters");
    intro.paragraph("Coupling K < K_c & field h > 0 \"quoted\" 'single'.");
    intro.key_values(
        "Parameters",
        vec![("seed".into(), "42".into()), ("tool".into(), "kadanoff 0.1.0 <dev>".into())],
    );
    let mut results = Section::new("Results");
    results.figure(Figure::png("spins", "Configurations: +1 white, -1 black.", png.clone()));
    results.figure(Figure::svg("flow", "The flow.", svg));
    results.table(table);
    results.preformatted("a <b> c");
    let mut report = Report::new("Report & <title>");
    report.push(intro).push(results);
    (report, png)
}

#[test]
fn html_is_well_formed_and_self_contained() {
    let (report, png) = sample_report();
    let html = report.to_html().unwrap();
    let elements = check_balanced(&html).unwrap_or_else(|e| panic!("{e}\n{html}"));
    assert!(elements > 50);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for forbidden in ["http://", "https://", "<script", "<link", "url(", "@import"] {
        assert!(!html.contains(forbidden), "found {forbidden}");
    }
    // Every src is a data URI.
    for src in html.split("src=\"").skip(1) {
        assert!(src.starts_with("data:image/png;base64,"), "{}", &src[..40.min(src.len())]);
    }
    // Every figure it names is embedded, once, in its own <figure> element.
    assert_eq!(report.figure_ids(), vec!["spins", "flow"]);
    for id in report.figure_ids() {
        let anchor = format!("<figure id=\"fig-{id}\">");
        assert_eq!(html.matches(&anchor).count(), 1, "{id}");
        let body = &html[html.find(&anchor).unwrap()..];
        let body = &body[..body.find("</figure>").unwrap()];
        assert!(body.contains("<img") || body.contains("<svg"), "{id} has no picture");
    }
    // The PNG's exact bytes are embedded, and the SVG inline with its text.
    assert!(html.contains(&format!("base64,{}\"", base64::encode(&png))));
    assert!(html.contains("Flow &lt;K_n&gt;"));
    assert!(html.contains("K_0 = 1 &amp; more"));
    assert_eq!(html.matches("<figcaption><b>Figure ").count(), 2);
}

#[test]
fn text_is_escaped() {
    let (report, _) = sample_report();
    let html = report.to_html().unwrap();
    assert!(html.contains("<title>Report &amp; &lt;title&gt;</title>"));
    assert!(html.contains("<h2>Setup &amp; parameters</h2>"));
    assert!(
        html.contains("<p>Coupling K &lt; K_c &amp; field h &gt; 0 &quot;quoted&quot; &#39;single&#39;.</p>")
    );
    assert!(html.contains("<td>kadanoff 0.1.0 &lt;dev&gt;</td>"));
    assert!(html.contains("<caption>L = 2 &lt;tiny&gt;</caption>"));
    assert!(html.contains("<pre>a &lt;b&gt; c</pre>"));
    assert!(!html.contains("<tiny>") && !html.contains("<dev>") && !html.contains("<b> c"));
    assert_eq!(escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

#[test]
fn bad_figures_are_refused() {
    let (mut report, png) = sample_report();
    report.sections[1].figure(Figure::png("spins", "again", png.clone()));
    assert_eq!(report.to_html(), Err(Error::DuplicateFigure { id: "spins".into() }));

    let mut report = Report::new("r");
    let mut s = Section::new("s");
    s.figure(Figure::png("has space", "c", png));
    report.push(s);
    assert!(matches!(report.to_html(), Err(Error::BadIdentifier { .. })));

    for svg in [
        "<svg><image href=\"https://example.com/x.png\"/></svg>",
        "<svg><script>alert(1)</script></svg>",
        "<p>not svg</p>",
    ] {
        let mut report = Report::new("r");
        let mut s = Section::new("s");
        s.figure(Figure::svg("x", "c", svg.to_string()));
        report.push(s);
        assert!(matches!(report.to_html(), Err(Error::BadSvg { .. })), "{svg}");
    }
}
