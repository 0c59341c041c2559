//! HTML to text: the reader of `.html` files and of EPUB chapters.

/// Visible text of an HTML page (scripts, styles and markup removed) and its `<title>`.
pub(super) fn html_to_text(html: &str) -> (String, String) {
    let render = |s: &str| {
        html2text::config::plain_no_decorate()
            .string_from_read(s.as_bytes(), 100_000)
            .unwrap_or_default()
    };
    let lower = html.to_ascii_lowercase();
    let title = lower
        .find("<title")
        .and_then(|start| Some(start + lower[start..].find('>')? + 1))
        .and_then(|from| Some((from, from + lower[from..].find("</title")?)))
        .map(|(from, to)| render(&html[from..to]).split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    (title, render(html))
}
