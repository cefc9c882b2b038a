//! Markdown for the public site (citizens' notices, FAQ, the guide), with its one sanitiser:
//! raw HTML is never passed through (it is shown as text), links keep only `http`, `https`,
//! `mailto` and relative targets (any other link is its text alone), images become links to
//! the picture (no picture is loaded), and headings start at the level the page gives so its
//! outline stays in order.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// HTML made by [`render`]: safe to place in a page as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafeHtml(String);

impl SafeHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Askama writes a `SafeHtml` without escaping it again (it was made by [`render`]).
impl askama::filters::HtmlSafe for SafeHtml {}

/// Whether a link target may be followed: `http`, `https` and `mailto` URLs, and paths on this
/// site (no scheme, not `//host`). Whitespace and control characters browsers ignore inside a
/// scheme (`java\tscript:`) do not hide one.
pub fn allowed_url(url: &str) -> bool {
    let compact: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if compact.starts_with("//") || compact.starts_with("\\\\") || compact.starts_with("/\\") {
        return false;
    }
    match compact.find([':', '/', '?', '#']) {
        Some(i) if compact[i..].starts_with(':') => {
            let scheme = compact[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        _ => !compact.contains('\\'),
    }
}

fn shifted(level: HeadingLevel, top: u8) -> HeadingLevel {
    let n = (level as u8).saturating_add(top.saturating_sub(1)).min(6);
    HeadingLevel::try_from(usize::from(n)).unwrap_or(HeadingLevel::H6)
}

/// Renders `source` as HTML; a `# heading` becomes `<h{top}>` (`top` 1–6), deeper ones follow.
pub fn render(source: &str, top: u8) -> SafeHtml {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    // For each link or image open: whether its tags are written (a refused target writes only
    // the text between them).
    let mut open: Vec<bool> = Vec::new();
    let events = Parser::new_ext(source, options).filter_map(|e| match e {
        // Raw HTML, block or inline, is text: the browser shows the tags, never runs them.
        Event::Html(s) | Event::InlineHtml(s) => Some(Event::Text(s)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Heading { level, .. }) => Some(Event::Start(Tag::Heading {
            level: shifted(level, top),
            id: None,
            classes: Vec::new(),
            attrs: Vec::new(),
        })),
        Event::End(TagEnd::Heading(level)) => {
            Some(Event::End(TagEnd::Heading(shifted(level, top))))
        }
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = allowed_url(&dest_url);
            open.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        // A picture is a link to it (inside a link, its description alone): nothing is loaded
        // from elsewhere, and its description stays readable.
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = allowed_url(&dest_url) && !open.iter().any(|k| *k);
            open.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link | TagEnd::Image) => {
            let keep = open.pop().unwrap_or(false);
            keep.then_some(Event::End(TagEnd::Link))
        }
        Event::InlineMath(s) | Event::DisplayMath(s) => Some(Event::Text(s)),
        Event::FootnoteReference(s) => Some(Event::Text(CowStr::from(format!("[^{s}]")))),
        other => Some(other),
    });
    let mut html = String::with_capacity(source.len() + source.len() / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    SafeHtml(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(md: &str) -> String {
        render(md, 1).0
    }

    /// Every tag of the output is one Markdown makes, with only its own attributes (a link's
    /// target allowed by [`allowed_url`]); whatever else the input held is text.
    fn inert(out: &str) {
        const TAGS: [&str; 26] = [
            "p",
            "a",
            "strong",
            "em",
            "del",
            "ul",
            "ol",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "code",
            "pre",
            "blockquote",
            "hr",
            "br",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "sup",
        ];
        let mut rest = out;
        while let Some(i) = rest.find('<') {
            let after = &rest[i + 1..];
            let end = after
                .find('>')
                .unwrap_or_else(|| panic!("unclosed tag in {out}"));
            let tag = after[..end].trim_start_matches('/');
            let name: String = tag
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            assert!(TAGS.contains(&name.as_str()), "<{name}> in {out}");
            let mut attrs = tag[name.len()..].trim().trim_end_matches('/').trim();
            while !attrs.is_empty() {
                let (key, value) = attrs
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("bare attribute {attrs} in {out}"));
                let close = value
                    .find('"')
                    .unwrap_or_else(|| panic!("open attribute in {out}"));
                let value = &value[..close];
                match (name.as_str(), key.trim()) {
                    ("a", "href") => assert!(allowed_url(value), "href {value} in {out}"),
                    ("a", "title") => {}
                    ("ol", "start") => assert!(value.chars().all(|c| c.is_ascii_digit())),
                    ("th" | "td", "style") => assert!(value.starts_with("text-align:")),
                    ("code", "class") => assert!(value.starts_with("language-")),
                    (n, k) => panic!("attribute {k} on <{n}> in {out}"),
                }
                attrs = value_rest(attrs, close);
            }
            rest = &after[end + 1..];
        }
    }

    /// What follows an attribute whose value closes at `close` (after its `="`).
    fn value_rest(attrs: &str, close: usize) -> &str {
        let start = attrs.find("=\"").map_or(attrs.len(), |i| i + 2);
        attrs[start + close + 1..].trim()
    }

    #[test]
    fn the_usual_markdown() {
        let out = html(
            "# 接種の流れ\n\n1. **接種券**\n2. 予約\n\n[厚生労働省](https://www.mhlw.go.jp/) と [FAQ](/search/faq)",
        );
        assert!(out.contains("<h1>接種の流れ</h1>"), "{out}");
        assert!(
            out.contains("<ol>") && out.contains("<strong>接種券</strong>"),
            "{out}"
        );
        assert!(
            out.contains(r#"<a href="https://www.mhlw.go.jp/">厚生労働省</a>"#),
            "{out}"
        );
        assert!(out.contains(r#"<a href="/search/faq">FAQ</a>"#), "{out}");
        assert!(
            html("[問い合わせ](mailto:info@example.jp)")
                .contains("href=\"mailto:info@example.jp\"")
        );
    }

    #[test]
    fn headings_start_where_the_page_says() {
        let out = render("# 一\n\n## 二\n\n###### 六", 3).0;
        assert!(
            out.contains("<h3>一</h3>")
                && out.contains("<h4>二</h4>")
                && out.contains("<h6>六</h6>"),
            "{out}"
        );
        assert!(!html("# x {#id .cls}").contains("id=\"id\""));
    }

    #[test]
    fn raw_html_is_text() {
        for md in [
            "<script>alert(1)</script>",
            "before <script>alert(1)</script> after",
            "<img src=x onerror=alert(1)>",
            "text <img src=x onerror=alert(1)> text",
            "<div onclick=\"alert(1)\">x</div>",
            "<iframe src=\"https://evil.example/\"></iframe>",
            "<svg onload=alert(1)>",
            "<!-- <script>alert(1)</script> -->",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<style>body{display:none}</style>",
            "```\n<script>alert(1)</script>\n```",
            "`<script>alert(1)</script>`",
        ] {
            let out = html(md);
            inert(&out);
            assert!(out.contains("&lt;"), "{md} → {out}");
        }
    }

    #[test]
    fn only_safe_link_targets() {
        for md in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](&#106;avascript:alert(1))",
            "[x](javascript&#58;alert(1))",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<javascript:alert(1)>",
            "[x][r]\n\n[r]: javascript:alert(1)",
            "[x](//evil.example/)",
            "[x](file:///etc/passwd)",
        ] {
            let out = html(md);
            inert(&out);
            assert!(!out.contains("<a "), "{md} → {out}");
            assert!(
                out.contains('x') || md.starts_with('<'),
                "{md}: the text stays: {out}"
            );
        }
        // Quotes in a target or title cannot break out of the attribute.
        let out = html("[x](https://example.jp/\"onmouseover=\"alert(1) \"t\\\" onclick=\\\"y\")");
        inert(&out);
    }

    #[test]
    fn images_are_links_never_loaded() {
        let out = html("![会場の地図](https://example.jp/map.png)");
        assert!(
            out.contains(r#"<a href="https://example.jp/map.png">会場の地図</a>"#),
            "{out}"
        );
        inert(&out);
        let out = html("![x](javascript:alert(1))");
        assert!(!out.contains("<a "), "{out}");
        inert(&out);
        let out = html("![x](https://example.jp/a.png\" onerror=\"alert(1))");
        inert(&out);
        // A picture inside a link: the link, with the picture's description.
        let out = html("[![地図](https://example.jp/a.png)](https://example.jp/)");
        assert_eq!(out.matches("<a ").count(), 1, "{out}");
        assert!(out.contains("地図"), "{out}");
    }

    #[test]
    fn allowed_urls() {
        for ok in [
            "https://a.jp/",
            "HTTP://a.jp",
            "mailto:a@b.jp",
            "/search/",
            "faq",
            "?q=1",
            "#top",
            "a/b:c",
        ] {
            assert!(allowed_url(ok), "{ok}");
        }
        for bad in [
            "javascript:x",
            " javascript:x",
            "java\nscript:x",
            "data:x",
            "//a.jp",
            "\\\\a.jp",
            "/\\a.jp",
            "ftp://a.jp",
            "a\\b",
        ] {
            assert!(!allowed_url(bad), "{bad}");
        }
    }
}
