//! CSV files as Excel users in Japanese local government exchange them: UTF-8 (with a BOM, so
//! Excel recognises it) or Shift_JIS — in practice Windows-31J (CP932), the Microsoft superset
//! with the NEC and IBM extensions (①, ㈱, 髙, 﨑 …), which is what `encoding_rs::SHIFT_JIS`
//! (the WHATWG "Shift_JIS") decodes and encodes.
//!
//! * [`decode`] turns the bytes of an uploaded file into text and says which encoding it was.
//! * [`parse`] reads the text as RFC 4180 CSV with a header row into records of named fields.
//!   It is strict about quoting (a stray `"` is an error, never silently taken as text) because
//!   an import must not change anything the user did not mean.
//! * [`write`] produces the bytes of a download, refusing — with the cell named — any character
//!   that Shift_JIS cannot hold instead of writing `&#…;` or `?` in its place.
//!
//! Row numbers: [`Record::row`] and the `row` of [`TableError::Rows`] and
//! [`TableError::Unencodable`] are 1-based *data* rows (the header is row 0), like
//! [`FieldError::row`]. In a spreadsheet the same row is `row + 1`, and the messages say both.
//! [`TableError::Malformed`] names the physical line of the file instead (what a text editor
//! shows), since a broken file is mended in a text editor.

pub mod allocation;
pub mod delivery;
pub mod reservations;

use std::collections::HashMap;
use std::fmt;

use encoding_rs::{DecoderResult, SHIFT_JIS};
use vsys_domain::validation::check_text;
use vsys_domain::{FieldError, Lang, Msg, catalog};

/// The encodings a user can choose for a download (and that an upload is detected as).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Windows-31J / CP932 (Shift_JIS with the NEC and IBM extensions), as Excel writes it.
    ShiftJis,
}

impl Encoding {
    /// Parses a form value or charset name: `utf-8`, `utf8`, `shift_jis`, `sjis`, `cp932` (also
    /// `shift-jis`, `windows-31j`, `ms932`), case-insensitively.
    pub fn parse(label: &str) -> Option<Encoding> {
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "shift_jis" | "shift-jis" | "sjis" | "cp932" | "windows-31j" | "ms932" => {
                Some(Encoding::ShiftJis)
            }
            _ => None,
        }
    }

    /// The label [`Encoding::parse`] reads back; also a valid HTTP `charset`.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::ShiftJis => "shift_jis",
        }
    }
}

/// A CSV file read by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The header row, trimmed, without a BOM, in file order.
    pub headers: Vec<String>,
    /// The data rows, in file order; rows whose every cell is blank are left out (but counted).
    pub rows: Vec<Record>,
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based data row (the header is row 0; row `row + 1` in a spreadsheet).
    pub row: usize,
    /// Every named column of the header → the cell exactly as in the file (empty when the row
    /// is shorter than the header). Where a header name repeats, the first column counts.
    pub fields: HashMap<String, String>,
}

impl Record {
    /// The cell of the column `name`, without surrounding spaces; `""` when there is none.
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |v| v.trim())
    }
}

catalog! {
    /// What is wrong with a file that cannot be read as CSV at all.
    pub enum Problem {
        InvalidBytes => (
            "ファイルの{line}行目に、UTF-8としてもShift_JIS（Windows-31J）としても読めないバイト（{detail}）があります。CSVファイルをUTF-8またはShift_JISで保存し直してください。",
            "Line {line} of the file contains bytes ({detail}) that are neither UTF-8 nor Shift_JIS (Windows-31J). Save the CSV file again as UTF-8 or Shift_JIS."
        ),
        InvalidUtf8 => (
            "ファイルはUTF-8と記されていますが、{line}行目にUTF-8として読めないバイト（{detail}）があります。CSVファイルを保存し直してください。",
            "The file is marked as UTF-8, but line {line} contains bytes ({detail}) that are not UTF-8. Save the CSV file again."
        ),
        Utf16 => (
            "UTF-16（Unicodeテキスト）のファイルは読み込めません。「CSV UTF-8（コンマ区切り）」または「CSV（コンマ区切り）」の形式で保存してください。",
            "UTF-16 (Unicode text) files cannot be read. Save the file as \"CSV UTF-8 (Comma delimited)\" or \"CSV (Comma delimited)\"."
        ),
        Spreadsheet => (
            "表計算ソフトのブック形式（.xlsx・.xls・.ods など）のファイルです。「CSV UTF-8（コンマ区切り）」または「CSV（コンマ区切り）」の形式で保存したファイルを選んでください。",
            "This is a spreadsheet workbook (.xlsx, .xls, .ods …). Save it as \"CSV UTF-8 (Comma delimited)\" or \"CSV (Comma delimited)\" and choose that file."
        ),
        NotText => (
            "ファイルの{line}行目にNUL文字があります。テキスト形式のCSVファイルを選んでください。",
            "Line {line} of the file contains a NUL character. Choose a CSV text file."
        ),
        Empty => (
            "ファイルが空です。1行目に見出しの行が必要です。",
            "The file is empty. Its first line must be the header row."
        ),
        UnclosedQuote => (
            "ファイルの{line}行目で始まる引用符（\"）が閉じられていません。",
            "The quotation mark (\") opened on line {line} of the file is never closed."
        ),
        TextAfterQuote => (
            "ファイルの{line}行目で、引用符（\"）で囲まれた値の後に、区切りのコンマ以外の文字（{detail}）があります。値の中の引用符は \"\" と2つ重ねてください。",
            "On line {line} of the file, a quoted value is followed by something other than a comma ({detail}). Write a quotation mark inside a value as \"\"."
        ),
        QuoteInField => (
            "ファイルの{line}行目で、引用符（\"）で囲まれていない値（{detail}）の中に引用符があります。値全体を引用符で囲み、値の中の引用符は \"\" と2つ重ねてください。",
            "On line {line} of the file, the unquoted value ({detail}) contains a quotation mark. Enclose the whole value in quotation marks and write the one inside as \"\"."
        ),
        TooManyFields => (
            "ファイルの{line}行目の項目数が見出しの項目数より多くなっています（{detail}）。コンマを含む値は、値全体を引用符（\"）で囲んでください。",
            "Line {line} of the file has more values than the header has columns ({detail}). Enclose a value that contains a comma in quotation marks (\")."
        ),
        DuplicateColumn => (
            "見出しの行に「{detail}」の列が2つ以上あります。1つにしてください。",
            "The header row has the column \"{detail}\" more than once. Keep only one."
        ),
    }
}

catalog! {
    /// The other texts of [`TableError::message`].
    enum Text {
        MissingColumns => (
            "見出しの行に必要な列がありません：{columns}。1行目に列名を入れてください（順番は問いません）。",
            "The header row lacks required columns: {columns}. Put the column names in the first row (in any order)."
        ),
        Unencodable => (
            "{row}行目の「{column}」の文字「{ch}」（{code}）はShift_JISで保存できません。文字を置き換えるか、UTF-8を選んでください。",
            "Row {row}, column \"{column}\": the character \"{ch}\" ({code}) cannot be saved in Shift_JIS. Replace it or choose UTF-8."
        ),
        UnencodableHeader => (
            "見出し「{column}」の文字「{ch}」（{code}）はShift_JISで保存できません。UTF-8を選んでください。",
            "The header \"{column}\" contains the character \"{ch}\" ({code}), which cannot be saved in Shift_JIS. Choose UTF-8."
        ),
        RowsSummary => (
            "ファイルに{count}件の誤りがあるため、何も取り込んでいません。すべて直してから、もう一度取り込んでください。",
            "The file has {count} error(s), so nothing was imported. Correct them all and import the file again."
        ),
        RowField => (
            "{row}行目（表計算ソフトでは{sheet}行目）の「{column}」：{msg}",
            "Row {row} (spreadsheet row {sheet}), \"{column}\": {msg}"
        ),
        RowOnly => (
            "{row}行目（表計算ソフトでは{sheet}行目）：{msg}",
            "Row {row} (spreadsheet row {sheet}): {msg}"
        ),
        FieldOnly => (
            "「{column}」：{msg}",
            "\"{column}\": {msg}"
        ),
    }
}

/// Why a file could not be read or written.
#[derive(Debug, Clone, PartialEq)]
pub enum TableError {
    /// The file cannot be read as CSV; `line` is its 1-based physical line, `detail` the
    /// language-neutral particulars (the bad bytes in hex, an excerpt, counts; may be empty).
    Malformed {
        line: usize,
        problem: Problem,
        detail: String,
    },
    /// Required columns missing from the header row, in the order they were required.
    MissingColumns(Vec<String>),
    /// A cell of a Shift_JIS download holds a character Windows-31J cannot hold (or could only
    /// hold as a different character). `row` 0 is the header row.
    Unencodable {
        row: usize,
        column: String,
        ch: char,
    },
    /// An import refused as a whole: every invalid cell, each with its data row.
    Rows(Vec<FieldError>),
}

impl TableError {
    /// The text a person reads, in `lang` (several lines for [`TableError::Rows`]).
    pub fn message(&self, lang: Lang) -> String {
        match self {
            TableError::Malformed {
                line,
                problem,
                detail,
            } => fill(
                problem.text(lang),
                &[("{line}", &line.to_string()), ("{detail}", detail)],
            ),
            TableError::MissingColumns(columns) => {
                let columns = match lang {
                    Lang::Ja => columns
                        .iter()
                        .map(|c| format!("「{c}」"))
                        .collect::<String>(),
                    Lang::En => columns
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                fill(Text::MissingColumns.text(lang), &[("{columns}", &columns)])
            }
            TableError::Unencodable { row, column, ch } => {
                let template = if *row == 0 {
                    Text::UnencodableHeader
                } else {
                    Text::Unencodable
                };
                fill(
                    template.text(lang),
                    &[
                        ("{row}", &row.to_string()),
                        ("{column}", column),
                        ("{ch}", &ch.to_string()),
                        ("{code}", &format!("U+{:04X}", u32::from(*ch))),
                    ],
                )
            }
            TableError::Rows(errors) => {
                let mut lines = vec![fill(
                    Text::RowsSummary.text(lang),
                    &[("{count}", &errors.len().to_string())],
                )];
                for e in errors {
                    let msg = e.msg.text(lang);
                    let line = match (e.row, e.field.is_empty()) {
                        (Some(row), false) => fill(
                            Text::RowField.text(lang),
                            &[
                                ("{row}", &row.to_string()),
                                ("{sheet}", &(row + 1).to_string()),
                                ("{column}", &e.field),
                                ("{msg}", msg),
                            ],
                        ),
                        (Some(row), true) => fill(
                            Text::RowOnly.text(lang),
                            &[
                                ("{row}", &row.to_string()),
                                ("{sheet}", &(row + 1).to_string()),
                                ("{msg}", msg),
                            ],
                        ),
                        (None, false) => fill(
                            Text::FieldOnly.text(lang),
                            &[("{column}", &e.field), ("{msg}", msg)],
                        ),
                        (None, true) => msg.to_owned(),
                    };
                    lines.push(line);
                }
                lines.join("\n")
            }
        }
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::default()))
    }
}

impl std::error::Error for TableError {}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |s, (key, value)| s.replace(key, value))
}

fn malformed(line: usize, problem: Problem, detail: impl Into<String>) -> TableError {
    TableError::Malformed {
        line,
        problem,
        detail: detail.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes an uploaded file: a UTF-8 BOM or valid UTF-8 → UTF-8 (BOM removed); otherwise
/// Windows-31J (`encoding_rs::SHIFT_JIS`). Bytes that are neither → [`TableError::Malformed`]
/// naming the line and the bytes, judged in the encoding that read further (a UTF-8 file with
/// one broken byte is reported as UTF-8, a Shift_JIS one as Shift_JIS). UTF-16 files,
/// spreadsheet workbooks and files with NUL bytes are refused with their own messages.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), TableError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(malformed(1, Problem::Utf16, ""));
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(malformed(1, Problem::Spreadsheet, ""));
    }
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        return Err(malformed(line_at(bytes, nul), Problem::NotText, ""));
    }
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return match std::str::from_utf8(rest) {
            Ok(text) => Ok((text.to_owned(), Encoding::Utf8)),
            Err(e) => {
                let at = UTF8_BOM.len() + e.valid_up_to();
                let end = e.error_len().map_or(bytes.len(), |n| at + n);
                Err(malformed(
                    line_at(bytes, at),
                    Problem::InvalidUtf8,
                    hex(bytes.get(at..end).unwrap_or_default()),
                ))
            }
        };
    }
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok((text.to_owned(), Encoding::Utf8)),
        Err(e) => e,
    };
    match decode_shift_jis(bytes) {
        Ok(text) => Ok((text, Encoding::ShiftJis)),
        Err((sjis_at, sjis_end)) => {
            let utf8_at = utf8_error.valid_up_to();
            let (at, end) = if utf8_at > sjis_at {
                (
                    utf8_at,
                    utf8_error.error_len().map_or(bytes.len(), |n| utf8_at + n),
                )
            } else {
                (sjis_at, sjis_end)
            };
            let bad = bytes.get(at..end).unwrap_or_default();
            Err(malformed(
                line_at(bytes, at),
                Problem::InvalidBytes,
                hex(bad),
            ))
        }
    }
}

/// Decodes Windows-31J strictly; on error, the byte range of the malformed sequence.
fn decode_shift_jis(bytes: &[u8]) -> Result<String, (usize, usize)> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut out = String::with_capacity(capacity);
    let mut pos = 0;
    loop {
        let rest = bytes.get(pos..).unwrap_or_default();
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut out, true);
        pos += read;
        match result {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => {
                let more = decoder
                    .max_utf8_buffer_length_without_replacement(bytes.len() - pos)
                    .unwrap_or(16)
                    .max(16);
                out.reserve(more);
            }
            DecoderResult::Malformed(bad, after) => {
                let end = pos.saturating_sub(usize::from(after));
                let start = end.saturating_sub(usize::from(bad));
                return Err((start, end.max(start + 1).min(bytes.len())));
            }
        }
    }
}

fn line_at(bytes: &[u8], offset: usize) -> usize {
    // 0x0A is never part of a multi-byte character in UTF-8 or Shift_JIS.
    bytes
        .get(..offset)
        .unwrap_or(bytes)
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("0x{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// One record of the file: its cells and the physical line it starts on.
struct RawRecord {
    line: usize,
    cells: Vec<String>,
}

/// Splits RFC 4180 CSV into records. Records end with CRLF, LF or a lone CR; a quoted cell may
/// hold commas, line breaks (kept as written) and `""` for a quotation mark.
fn records(text: &str) -> Result<Vec<RawRecord>, TableError> {
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut out = Vec::new();
    while chars.peek().is_some() {
        let start = line;
        let mut cells = Vec::new();
        loop {
            let mut cell = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let opened = line;
                loop {
                    match chars.next() {
                        None => return Err(malformed(opened, Problem::UnclosedQuote, "")),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            cell.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' || (c == '\r' && chars.peek() != Some(&'\n')) {
                                line += 1;
                            }
                            cell.push(c);
                        }
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if matches!(c, ',' | '\r' | '\n') {
                        break;
                    }
                    if c == '"' {
                        let excerpt: String = cell.chars().chain(chars.clone().take(20)).collect();
                        let excerpt: String = excerpt.lines().next().unwrap_or_default().into();
                        return Err(malformed(line, Problem::QuoteInField, excerpt));
                    }
                    cell.push(c);
                    chars.next();
                }
            }
            cells.push(cell);
            match chars.next() {
                Some(',') => {}
                Some('\r') => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line += 1;
                    break;
                }
                Some('\n') => {
                    line += 1;
                    break;
                }
                None => break,
                // Only after a closing quote: an unquoted cell stops at a separator.
                Some(c) => {
                    let excerpt: String = std::iter::once(c)
                        .chain(chars.clone().take_while(|&c| !matches!(c, '\r' | '\n')))
                        .take(20)
                        .collect();
                    return Err(malformed(line, Problem::TextAfterQuote, excerpt));
                }
            }
        }
        out.push(RawRecord { line: start, cells });
    }
    Ok(out)
}

/// Parses a decoded CSV with a header row into records of named fields. The header must name
/// every `required` column (any order; other columns are kept in [`Table::headers`] but need
/// not be used; a BOM and spaces around names are ignored). Rows with every cell blank are
/// skipped but counted, so [`Record::row`] matches the spreadsheet (`row + 1`). A row shorter
/// than the header reads as empty cells; a row with more non-empty cells than the header is an
/// error. Structural errors stop at the first (what follows a broken quote cannot be trusted).
/// Every cell of a named column passes the one text check of all input
/// (`domain::validation::check_text`): cells with control characters other than tab and line
/// breaks are refused here, each named with [`TableError::Rows`]; validating the values, and
/// reporting every bad cell the same way, is the caller's.
pub fn parse(text: &str, required: &[&str]) -> Result<Table, TableError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut records = records(text)?.into_iter();
    let header = match records.next() {
        Some(h) if h.cells.iter().any(|c| !c.trim().is_empty()) => h,
        _ => return Err(malformed(1, Problem::Empty, "")),
    };
    let headers: Vec<String> = header.cells.iter().map(|c| c.trim().to_owned()).collect();

    let missing: Vec<String> = required
        .iter()
        .filter(|r| !headers.iter().any(|h| h == r.trim()))
        .map(|r| r.trim().to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(TableError::MissingColumns(missing));
    }
    for r in required {
        if headers.iter().filter(|h| *h == r.trim()).count() > 1 {
            return Err(malformed(header.line, Problem::DuplicateColumn, r.trim()));
        }
    }

    let mut rows = Vec::new();
    let mut controls = Vec::new();
    for (i, rec) in records.enumerate() {
        let row = i + 1;
        // Blank as read back: a lone tab or line break that `write` defused (`'\t`) is blank too.
        let blank = |c: &String| restore(c).trim().is_empty();
        if rec.cells.iter().all(blank) {
            continue;
        }
        let used = rec
            .cells
            .iter()
            .rposition(|c| !blank(c))
            .map_or(0, |p| p + 1);
        if used > headers.len() {
            return Err(malformed(
                rec.line,
                Problem::TooManyFields,
                format!("{used} > {}", headers.len()),
            ));
        }
        let mut fields = HashMap::with_capacity(headers.len());
        for (j, name) in headers.iter().enumerate() {
            if name.is_empty() || fields.contains_key(name) {
                continue;
            }
            let value = rec.cells.get(j).map(|c| restore(c)).unwrap_or_default();
            if check_text(&value).is_err() {
                let mut e = FieldError::new(name, Msg::ControlCharacter);
                e.row = Some(row);
                controls.push(e);
            }
            fields.insert(name.clone(), value);
        }
        rows.push(Record { row, fields });
    }
    if !controls.is_empty() {
        return Err(TableError::Rows(controls));
    }
    Ok(Table { headers, rows })
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Writes a table (each row should have one cell per header) as RFC 4180 CSV with CRLF line
/// ends, quoting only the cells that hold a comma, a quotation mark or a line break. UTF-8
/// output starts with a BOM so that Excel reads it as UTF-8. Shift_JIS output refuses, with
/// [`TableError::Unencodable`] naming the first such cell (row-major; header = row 0), any
/// character Windows-31J cannot hold or would give back as another character (¥ U+00A5 and ‾
/// U+203E become `\` and `~`; − U+2212 becomes － U+FF0D): nothing is ever replaced silently.
pub fn write(
    headers: &[&str],
    rows: &[Vec<String>],
    encoding: Encoding,
) -> Result<Vec<u8>, TableError> {
    let mut out = Vec::new();
    if encoding == Encoding::Utf8 {
        out.extend_from_slice(UTF8_BOM);
    }
    push_row(&mut out, 0, headers, headers.iter().copied(), encoding)?;
    for (i, row) in rows.iter().enumerate() {
        push_row(
            &mut out,
            i + 1,
            headers,
            row.iter().map(String::as_str),
            encoding,
        )?;
    }
    Ok(out)
}

/// Appends one CSV line (with its CRLF) to `out`.
fn push_row<'a>(
    out: &mut Vec<u8>,
    row: usize,
    headers: &[&str],
    cells: impl Iterator<Item = &'a str>,
    encoding: Encoding,
) -> Result<(), TableError> {
    for (j, cell) in cells.enumerate() {
        if j > 0 {
            out.push(b',');
        }
        let quoted = quote(&defuse(cell)).into_owned();
        match encoding {
            Encoding::Utf8 => out.extend_from_slice(quoted.as_bytes()),
            Encoding::ShiftJis => {
                let bytes = encode_sjis(&quoted).map_err(|ch| TableError::Unencodable {
                    row,
                    column: headers.get(j).copied().unwrap_or_default().to_owned(),
                    ch,
                })?;
                out.extend_from_slice(&bytes);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Whether a spreadsheet would run the cell as a formula: it starts (after any `'`) with `=`,
/// `+`, `-`, `@`, a tab or a carriage return, and is not a plain number.
fn looks_like_formula(cell: &str) -> bool {
    let bare = cell.trim_start_matches('\'');
    bare.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(bare.trim())
}

/// A plain decimal number with an optional sign: `-5`, `+3`, `-1.25`.
fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
}

/// Excel and LibreOffice run a cell that starts with `=`, `+`, `-` or `@` as a formula: a
/// name or note such as `=HYPERLINK(…)` typed by one organisation would run on the computer
/// of another that downloads the table (CSV injection). Such a cell is written with a leading
/// `'`, which spreadsheets show as text and drop when they save; numbers (`-5`) are left as
/// they are. [`restore`] takes the `'` off again, so our own files read back unchanged.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The inverse of [`defuse`]: `restore(&defuse(x)) == x` for every `x`.
fn restore(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if looks_like_formula(cell) => rest.to_owned(),
        _ => cell.to_owned(),
    }
}

fn quote(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\"")).into()
    } else {
        cell.into()
    }
}

/// Encodes text in Windows-31J, or gives the first character that does not survive the trip
/// (unmappable — which `encoding_rs` would write as `&#…;` — or mapped to another character).
fn encode_sjis(text: &str) -> Result<Vec<u8>, char> {
    let (bytes, _, had_errors) = SHIFT_JIS.encode(text);
    if !had_errors {
        let back = SHIFT_JIS.decode_without_bom_handling_and_without_replacement(&bytes);
        if back.as_deref() == Some(text) {
            return Ok(bytes.into_owned());
        }
    }
    // Character by character: find the culprit, and build the output only from characters
    // that were each checked (Shift_JIS is stateless, so the pieces concatenate).
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        let one: &str = ch.encode_utf8(&mut buf);
        let (bytes, _, had_errors) = SHIFT_JIS.encode(one);
        let back = SHIFT_JIS.decode_without_bom_handling_and_without_replacement(&bytes);
        if had_errors || back.as_deref() != Some(one) {
            return Err(ch);
        }
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vsys_domain::Msg;

    const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/libreoffice_sjis.csv");

    fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect()
    }

    /// The table's rows as cells in header order.
    fn cells(table: &Table) -> Vec<Vec<String>> {
        table
            .rows
            .iter()
            .map(|r| {
                table
                    .headers
                    .iter()
                    .map(|h| r.fields.get(h).cloned().unwrap_or_default())
                    .collect()
            })
            .collect()
    }

    fn round_trip(headers: &[&str], rows: &[Vec<String>], encoding: Encoding) -> Table {
        let bytes = write(headers, rows, encoding).expect("encodable");
        let (text, detected) = decode(&bytes).expect("decodable");
        assert_eq!(detected, encoding);
        let table = parse(&text, headers).expect("parsable");
        assert_eq!(table.headers, headers);
        assert_eq!(&cells(&table), rows);
        table
    }

    #[test]
    fn encoding_labels() {
        for label in ["utf-8", "UTF8", " utf-8 "] {
            assert_eq!(Encoding::parse(label), Some(Encoding::Utf8), "{label}");
        }
        for label in ["shift_jis", "Shift_JIS", "sjis", "cp932", "Windows-31J"] {
            assert_eq!(Encoding::parse(label), Some(Encoding::ShiftJis), "{label}");
        }
        assert_eq!(Encoding::parse("euc-jp"), None);
        for e in [Encoding::Utf8, Encoding::ShiftJis] {
            assert_eq!(Encoding::parse(e.label()), Some(e));
        }
    }

    #[test]
    fn decodes_utf8_with_and_without_bom() {
        let plain = "組織コード,名称\n0110000001,𠮷野家診療所\n";
        let (text, enc) = decode(plain.as_bytes()).expect("utf-8");
        assert_eq!((text.as_str(), enc), (plain, Encoding::Utf8));

        let mut with_bom = UTF8_BOM.to_vec();
        with_bom.extend_from_slice(plain.as_bytes());
        let (text, enc) = decode(&with_bom).expect("utf-8 with BOM");
        assert_eq!((text.as_str(), enc), (plain, Encoding::Utf8));
        let table = parse(&text, &["名称"]).expect("parses");
        assert_eq!(table.rows[0].get("名称"), "𠮷野家診療所");
    }

    #[test]
    fn decodes_windows_31j() {
        // 髙 FB FC (IBM extension), 﨑 FA B1, ① 87 40 and ㈱ 87 8A (NEC row 13), ～ 81 60.
        let bytes = b"\x96\xBC\x8F\xCC\n\xFB\xFC,\xFA\xB1,\x87\x40,\x87\x8A,\x81\x60\n";
        let (text, enc) = decode(bytes).expect("cp932");
        assert_eq!(enc, Encoding::ShiftJis);
        assert_eq!(text, "名称\n髙,﨑,①,㈱,～\n");
        // The NEC-selected IBM extension codes (ED/EE rows) decode to the same characters.
        let (text, _) = decode(b"\xEE\xE0\n").expect("cp932");
        assert_eq!(text, "髙\n");
    }

    #[test]
    fn rows_of_blank_cells_stay_blank_when_written_and_read_back() {
        let rows = strings(&[&["\r", "\t", " "], &["x", "", ""]]);
        for encoding in [Encoding::Utf8, Encoding::ShiftJis] {
            let bytes = write(&["a", "b", "c"], &rows, encoding).expect("encodable");
            let (text, _) = decode(&bytes).expect("decodable");
            let table = parse(&text, &["a"]).expect("parsable");
            assert_eq!(cells(&table), strings(&[&["x", "", ""]]));
            assert_eq!(table.rows[0].row, 2);
        }
    }

    #[test]
    fn refuses_control_characters_in_cells_naming_each() {
        let text = "a,b,c\r\nx\u{1b}[31m,ok,\r\n\"tab\tand\r\nbreak\",y\u{85},\u{7f}\r\n";
        let e = parse(text, &["a"]).err();
        let named = match e {
            Some(TableError::Rows(errors)) => errors
                .into_iter()
                .map(|e| (e.row, e.field, e.msg))
                .collect::<Vec<_>>(),
            other => panic!("expected row errors, got {other:?}"),
        };
        assert_eq!(
            named,
            [
                (Some(1), "a".to_owned(), Msg::ControlCharacter),
                (Some(2), "b".to_owned(), Msg::ControlCharacter),
                (Some(2), "c".to_owned(), Msg::ControlCharacter),
            ]
        );
    }

    #[test]
    fn refuses_bytes_that_are_neither() {
        // 0x82 0xFF: a Shift_JIS lead byte with an impossible trail byte, on line 3.
        let bytes = b"\x96\xBC\x8F\xCC\n\x8D\x60\x8B\xE6\n\x82\xFF\n";
        let err = decode(bytes).expect_err("malformed");
        assert_eq!(
            err,
            TableError::Malformed {
                line: 3,
                problem: Problem::InvalidBytes,
                detail: "0x82 0xFF".into()
            }
        );
        assert!(err.message(Lang::Ja).starts_with("ファイルの3行目に"));
        assert!(err.message(Lang::En).starts_with("Line 3 of the file"));

        // A UTF-8 file with one broken byte on line 2 is reported as such.
        let mut bytes = "名称,分配量\n港区第二会場".as_bytes().to_vec();
        bytes.push(0xFF);
        bytes.extend_from_slice(",3\n".as_bytes());
        let err = decode(&bytes).expect_err("malformed");
        assert_eq!(
            err,
            TableError::Malformed {
                line: 2,
                problem: Problem::InvalidBytes,
                detail: "0xFF".into()
            }
        );

        // A BOM says UTF-8: no guessing.
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice(b"a\n\x82\xA0\n");
        assert!(matches!(
            decode(&bytes),
            Err(TableError::Malformed {
                line: 2,
                problem: Problem::InvalidUtf8,
                ..
            })
        ));
    }

    #[test]
    fn refuses_utf16_workbooks_and_binary() {
        let problem = |b: &[u8]| match decode(b) {
            Err(TableError::Malformed { problem, .. }) => Some(problem),
            _ => None,
        };
        assert_eq!(problem(b"\xFF\xFEa\0,\0"), Some(Problem::Utf16));
        assert_eq!(problem(b"PK\x03\x04\x14\0"), Some(Problem::Spreadsheet));
        assert_eq!(problem(b"a,b\n1,\0"), Some(Problem::NotText));
    }

    #[test]
    fn utf8_round_trip_starts_with_bom() {
        let headers = ["組織コード", "名称", "分配量"];
        let rows = strings(&[
            &["0110000001", "𠮷野家診療所 🏥", "12"],
            &["9131030002", "港区, 第二会場", "7"],
            &["1310000004", "会場名に\"引用符\"と\n改行", "5"],
        ]);
        let bytes = write(&headers, &rows, Encoding::Utf8).expect("utf-8 holds everything");
        assert!(bytes.starts_with(UTF8_BOM));
        assert!(bytes.ends_with(b"\r\n"));
        round_trip(&headers, &rows, Encoding::Utf8);
    }

    #[test]
    fn formulas_are_written_as_text_and_read_back_unchanged() {
        let headers = ["組織コード", "備考"];
        let rows = strings(&[
            &["0110000001", "=HYPERLINK(\"http://example.com\",\"x\")"],
            &["0110000002", "+81-3-1234-5678"],
            &["0110000003", "@SUM(A1:A2)"],
            &["0110000004", "-5"],
            &["0110000005", "'=already quoted"],
            &["0110000006", "'plain"],
            &["0110000007", "\t=tab"],
            &["0110000008", "+3"],
        ]);
        for encoding in [Encoding::Utf8, Encoding::ShiftJis] {
            let bytes = write(&headers, &rows, encoding).expect("encodable");
            let text = decode(&bytes).expect("decodes").0;
            for line in ["'=HYPERLINK", "'+81-3", "'@SUM", "''=already", "'\t=tab"] {
                assert!(text.contains(line), "{line} in {text}");
            }
            assert!(text.contains("0110000004,-5\r\n"), "numbers stay: {text}");
            assert!(text.contains("0110000006,'plain\r\n"), "{text}");
            assert!(text.contains("0110000008,+3\r\n"), "{text}");
            round_trip(&headers, &rows, encoding);
        }
        for x in [
            "",
            "'",
            "''",
            "-",
            "'-",
            "=1",
            "'=1",
            "1",
            "-1.5",
            " =x",
            "＝全角",
            "-inf",
            "-.",
            "+1.2.3",
        ] {
            assert_eq!(restore(&defuse(x)), x, "{x:?}");
        }
    }

    #[test]
    fn shift_jis_round_trip() {
        let headers = ["組織コード", "名称", "分配量"];
        let rows = strings(&[
            &["0110000001", "髙橋クリニック", "12"],
            &["0110000002", "﨑山医院", "3"],
            &["9011000001", "①会場", "40"],
            &["1310000003", "㈱ビタミン薬局～本店", "0"],
            &["9131030002", "港区, 第二会場", "7"],
            &["1310000004", "会場名に\"引用符\"と\n改行", "5"],
            &["1310000005", "ｶﾅ ￢∵ ≒ ⅰ Ⅹ ㍻ 纊 ∑", ""],
        ]);
        let bytes = write(&headers, &rows, Encoding::ShiftJis).expect("all in CP932");
        assert!(!bytes.starts_with(UTF8_BOM));
        for (ch, code) in [
            ("髙", b"\xFB\xFC"),
            ("﨑", b"\xFA\xB1"),
            ("①", b"\x87\x40"),
            ("㈱", b"\x87\x8A"),
            ("～", b"\x81\x60"),
        ] {
            assert!(bytes.windows(2).any(|w| w == code), "{ch}");
        }
        assert!(
            bytes
                .windows(b"\"\x8D\x60\x8B\xE6, ".len())
                .any(|w| w == b"\"\x8D\x60\x8B\xE6, "),
            "quoted comma"
        );
        assert!(!bytes.windows(2).any(|w| w == b"&#"));
        round_trip(&headers, &rows, Encoding::ShiftJis);
    }

    #[test]
    fn refuses_unencodable_naming_the_cell() {
        let headers = ["組織コード", "市町村名"];
        let rows = strings(&[
            &["01100", "札幌市"],
            &["01202", "函館市"],
            &["13103", "𠮷田町"],
            &["13104", "😀"],
        ]);
        let err = write(&headers, &rows, Encoding::ShiftJis).expect_err("𠮷 is not in CP932");
        assert_eq!(
            err,
            TableError::Unencodable {
                row: 3,
                column: "市町村名".into(),
                ch: '𠮷'
            }
        );
        assert_eq!(
            err.message(Lang::Ja),
            "3行目の「市町村名」の文字「𠮷」（U+20BB7）はShift_JISで保存できません。文字を置き換えるか、UTF-8を選んでください。"
        );
        assert_eq!(
            err.message(Lang::En),
            "Row 3, column \"市町村名\": the character \"𠮷\" (U+20BB7) cannot be saved in Shift_JIS. Replace it or choose UTF-8."
        );
        assert_eq!(
            write(&headers, &rows[3..], Encoding::ShiftJis),
            Err(TableError::Unencodable {
                row: 1,
                column: "市町村名".into(),
                ch: '😀'
            })
        );
        assert!(matches!(
            write(&["名称", "備考🏥"], &[], Encoding::ShiftJis),
            Err(TableError::Unencodable {
                row: 0,
                ch: '🏥',
                ..
            })
        ));
        // UTF-8 holds it all.
        assert!(write(&headers, &rows, Encoding::Utf8).is_ok());
    }

    #[test]
    fn refuses_characters_that_would_come_back_different() {
        // 〜 WAVE DASH (Mac/JIS) is not CP932's ～ U+FF5E; — U+2014 is not ― U+2015;
        // ¥ and ‾ would be written as 0x5C/0x7E and read back as \ and ~; − U+2212 as － U+FF0D;
        // 外字 (user-defined area) decodes to private-use characters but cannot be encoded.
        for ch in ['〜', '—', '‖', '¢', '¥', '‾', '−', '\u{E000}'] {
            let rows = vec![vec![format!("a{ch}b")]];
            assert_eq!(
                write(&["名称"], &rows, Encoding::ShiftJis),
                Err(TableError::Unencodable {
                    row: 1,
                    column: "名称".into(),
                    ch
                }),
                "U+{:04X}",
                u32::from(ch)
            );
        }
        let (text, enc) = decode(b"\xF0\x40").expect("user-defined area decodes");
        assert_eq!((text.as_str(), enc), ("\u{E000}", Encoding::ShiftJis));
    }

    #[test]
    fn missing_columns_are_all_named() {
        let text = "名称,備考\n髙橋クリニック,\n";
        let err = parse(text, &["組織コード", "名称", "分配量"]).expect_err("missing");
        assert_eq!(
            err,
            TableError::MissingColumns(vec!["組織コード".into(), "分配量".into()])
        );
        assert_eq!(
            err.message(Lang::Ja),
            "見出しの行に必要な列がありません：「組織コード」「分配量」。1行目に列名を入れてください（順番は問いません）。"
        );
        assert!(err.message(Lang::En).contains("\"組織コード\", \"分配量\""));
    }

    #[test]
    fn header_with_bom_spaces_any_order_and_extra_columns() {
        let text =
            "\u{FEFF} 分配量 ,備考,　組織コード　,名称\r\n 12 ,メモ,0110000001,髙橋クリニック\r\n";
        let table = parse(text, &["組織コード", "名称", "分配量"]).expect("parses");
        assert_eq!(table.headers, ["分配量", "備考", "組織コード", "名称"]);
        let r = &table.rows[0];
        assert_eq!(r.row, 1);
        assert_eq!(r.get("組織コード"), "0110000001");
        assert_eq!(r.get("分配量"), "12");
        assert_eq!(r.fields["分配量"], " 12 ");
        assert_eq!(r.get("存在しない列"), "");
    }

    #[test]
    fn rows_are_numbered_like_the_spreadsheet() {
        // A quoted line break stays in its cell; blank rows are skipped but counted; short rows
        // read as empty cells; trailing empty cells are fine; lone CR ends a record too.
        let text = "a,b\n\"1\n1\",x\n,\n\n2\r3,y,,\r\n";
        let table = parse(text, &["a", "b"]).expect("parses");
        let got: Vec<(usize, &str, &str)> = table
            .rows
            .iter()
            .map(|r| (r.row, r.get("a"), r.get("b")))
            .collect();
        assert_eq!(got, [(1, "1\n1", "x"), (4, "2", ""), (5, "3", "y")]);
    }

    #[test]
    fn malformed_quoting_names_the_line() {
        let cases: &[(&str, usize, Problem)] = &[
            ("a,b\n1,2\n\"3,4\n5,6\n", 3, Problem::UnclosedQuote),
            ("a,b\n\"1\n1\",\"x\"y\n", 3, Problem::TextAfterQuote),
            ("a,b\n1,2\n3,4\"\n", 3, Problem::QuoteInField),
            ("a,b\n1,2\n港区, 第二会場,7\n", 3, Problem::TooManyFields),
            ("", 1, Problem::Empty),
            ("\u{FEFF}\n", 1, Problem::Empty),
            ("a,b,a\n", 1, Problem::DuplicateColumn),
        ];
        for (text, line, problem) in cases {
            match parse(text, &["a", "b"]) {
                Err(TableError::Malformed {
                    line: l,
                    problem: p,
                    ..
                }) => assert_eq!((l, p), (*line, *problem), "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let err = parse("a,b\n1,2\n\"3,4\n", &["a"]).expect_err("unclosed");
        assert_eq!(
            err.message(Lang::Ja),
            "ファイルの3行目で始まる引用符（\"）が閉じられていません。"
        );
        let err = parse("a,b\n1,2\n港区, 第二会場,7\n", &["a"]).expect_err("too many");
        assert!(err.message(Lang::Ja).contains("（3 > 2）"), "{err}");
    }

    #[test]
    fn row_errors_name_row_and_column() {
        let mut unknown = FieldError::new("組織コード", Msg::UnknownOrg);
        unknown.row = Some(2);
        let mut bad = FieldError::new("", Msg::InvalidInput);
        bad.row = Some(5);
        let err = TableError::Rows(vec![unknown, bad]);
        assert_eq!(
            err.message(Lang::Ja),
            "ファイルに2件の誤りがあるため、何も取り込んでいません。すべて直してから、もう一度取り込んでください。\n\
             2行目（表計算ソフトでは3行目）の「組織コード」：組織コードが見つかりません。\n\
             5行目（表計算ソフトでは6行目）：入力内容に誤りがあります。"
        );
        assert!(
            err.message(Lang::En).contains(
                "Row 2 (spreadsheet row 3), \"組織コード\": No organisation has this code."
            )
        );
    }

    #[test]
    fn every_message_has_both_languages() {
        for m in Problem::ALL {
            assert_ne!(m.text(Lang::Ja), m.text(Lang::En), "{}", m.key());
        }
        for m in Text::ALL {
            assert_ne!(m.text(Lang::Ja), m.text(Lang::En), "{}", m.key());
        }
    }

    /// A Shift_JIS file saved by LibreOffice Calc (see tests/fixtures/README.md).
    #[test]
    fn libreoffice_shift_jis_fixture_round_trips() {
        let (text, enc) = decode(FIXTURE).expect("LibreOffice wrote valid CP932");
        assert_eq!(enc, Encoding::ShiftJis);
        let headers = ["組織コード", "名称", "分配量"];
        let table = parse(&text, &headers).expect("parses");
        let expected = strings(&[
            &["0110000001", "髙橋クリニック", "12"],
            &["0110000002", "﨑山医院", "3"],
            &["9011000001", "①会場", "40"],
            &["9131030002", "港区, 第二会場", "7"],
            &["1310000003", "㈱ビタミン薬局～本店", "0"],
            &["1310000004", "会場名に\"引用符\"と\n改行", "5"],
        ]);
        assert_eq!(cells(&table), expected);
        assert_eq!(
            table.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );

        // Writing it back: LibreOffice on Linux ends records with LF where we write CRLF (as
        // Excel does); its quoting (only cells with a comma, quote or line break) and its byte
        // choices for every character (髙 FB FC, not the NEC-selected EE E0) are the same as
        // ours. So the bytes are identical once our CRLF record ends are read as LF — and the
        // parsed content is identical as such.
        let ours = write(&headers, &expected, Encoding::ShiftJis).expect("all in CP932");
        let mut lf = Vec::with_capacity(ours.len());
        let mut i = 0;
        while i < ours.len() {
            if ours[i..].starts_with(b"\r\n") {
                i += 1;
                continue;
            }
            lf.push(ours[i]);
            i += 1;
        }
        assert_eq!(lf, FIXTURE);
        let (again, _) = decode(&ours).expect("decodes");
        assert_eq!(parse(&again, &headers), Ok(table));
    }
}
