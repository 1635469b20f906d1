//! Small string helpers shared by the metadata extractors.

/// `text` with every run of whitespace replaced by one space, trimmed.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `text` cut to at most `max_chars` characters on a character boundary. When it is cut, the cut
/// falls on the last space of the kept part (if that keeps at least half of it) and `…` is
/// appended within the limit.
pub(crate) fn cap_chars(text: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let keep_end = text
                .char_indices()
                .nth(max_chars - 1)
                .map_or(text.len(), |(i, _)| i);
            let kept = &text[..keep_end];
            let kept = match kept.rfind(' ') {
                Some(space) if space >= kept.len() / 2 => &kept[..space],
                _ => kept,
            };
            format!("{}…", kept.trim_end())
        }
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary.
pub(crate) fn prefix_bytes(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The file name of a `/`-separated repository path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The folders of a `/`-separated repository path, outermost first (the file name excluded).
pub(crate) fn folders(path: &str) -> impl Iterator<Item = &str> {
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    dir.split('/').filter(|c| !c.is_empty())
}

/// Decodes the XML/HTML character entities that occur in READMEs and manifests (`&amp;`, `&lt;`,
/// `&gt;`, `&quot;`, `&apos;`, `&#39;`, `&nbsp;`, numeric references); others stay as written.
pub(crate) fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let entity_end = rest[1..]
            .char_indices()
            .take(10)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i + 1);
        let decoded = entity_end.and_then(|end| decode_entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of one entity name (without `&` and `;`).
fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_collapsed_and_trimmed() {
        assert_eq!(collapse_whitespace("  a \n\t b  c "), "a b c");
    }

    #[test]
    fn capping_cuts_on_a_word_and_char_boundary() {
        assert_eq!(cap_chars("short", 10), "short");
        assert_eq!(cap_chars("one two three four", 12), "one two…");
        assert_eq!(cap_chars("ééééé", 3), "éé…");
        assert_eq!(prefix_bytes("aé", 2), "a");
    }

    #[test]
    fn entities_are_decoded_and_unknown_ones_kept() {
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt; &#39;d&#x27; &bogus; &"),
            "a & b <c> 'd' &bogus; &"
        );
    }
}
