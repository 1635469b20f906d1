//! A bounded, streaming walk over an XML document with quick-xml.
//!
//! Only what manifests need: each element is reported when it closes, with the path of local
//! names from the root, its attributes and its direct text. Predefined and numeric entity
//! references are resolved; other entities (declared in a DOCTYPE) are dropped, never expanded.

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::{MAX_XML_DEPTH, ManifestError};

/// One closed element.
#[derive(Debug)]
pub(super) struct Element<'a> {
    /// Local names from the root to this element (namespace prefixes removed).
    pub path: &'a [String],
    /// Attributes by local name, values unescaped.
    pub attributes: &'a [(String, String)],
    /// The element's own text (not its children's), trimmed.
    pub text: &'a str,
}

impl Element<'_> {
    /// The value of attribute `name` (compared case-insensitively, as MSBuild does).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// True when the path is exactly `names`, compared case-insensitively.
    pub fn is_ignore_case(&self, names: &[&str]) -> bool {
        self.path.len() == names.len()
            && self
                .path
                .iter()
                .zip(names)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }
}

struct Open {
    attributes: Vec<(String, String)>,
    text: String,
}

/// Walks `text`, calling `visit` for every element as it closes. Errors: malformed XML (with the
/// byte position), nesting deeper than [`MAX_XML_DEPTH`], no root element, or unclosed elements.
pub(super) fn walk(
    text: &str,
    mut visit: impl FnMut(&Element<'_>) -> Result<(), ManifestError>,
) -> Result<(), ManifestError> {
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut saw_root = false;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| ManifestError::syntax("XML", &format!("at byte {position}: {e}")))?;
        match event {
            Event::Start(start) => {
                if path.len() >= MAX_XML_DEPTH {
                    return Err(ManifestError::TooDeep {
                        format: "XML",
                        limit: MAX_XML_DEPTH,
                    });
                }
                if path.is_empty() && saw_root {
                    return Err(ManifestError::syntax("XML", "more than one root element"));
                }
                saw_root = true;
                let attributes = attributes(&start)?;
                path.push(local_name(&start));
                open.push(Open {
                    attributes,
                    text: String::new(),
                });
            }
            Event::Empty(start) => {
                if path.is_empty() && saw_root {
                    return Err(ManifestError::syntax("XML", "more than one root element"));
                }
                saw_root = true;
                let attributes = attributes(&start)?;
                path.push(local_name(&start));
                visit(&Element {
                    path: &path,
                    attributes: &attributes,
                    text: "",
                })?;
                path.pop();
            }
            Event::End(_) => {
                let Some(element) = open.pop() else {
                    return Err(ManifestError::syntax("XML", "closing tag without an opening one"));
                };
                visit(&Element {
                    path: &path,
                    attributes: &element.attributes,
                    text: element.text.trim(),
                })?;
                path.pop();
            }
            Event::Text(text) => {
                if let Some(element) = open.last_mut() {
                    element.text.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if let Some(element) = open.last_mut() {
                    element.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let Some(element) = open.last_mut() else { continue };
                if let Ok(Some(c)) = reference.resolve_char_ref() {
                    element.text.push(c);
                } else if let Some(resolved) = resolve_predefined_entity(&reference) {
                    element.text.push_str(resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !path.is_empty() {
        return Err(ManifestError::syntax(
            "XML",
            "unexpected end of document inside an element",
        ));
    }
    if !saw_root {
        return Err(ManifestError::syntax("XML", "no root element"));
    }
    Ok(())
}

/// The element's name without its namespace prefix.
fn local_name(start: &BytesStart<'_>) -> String {
    start.local_name().as_ref().to_owned()
}

fn attributes(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, ManifestError> {
    start
        .attributes()
        .map(|attribute| {
            let attribute = attribute.map_err(|e| ManifestError::syntax("XML", &e.to_string()))?;
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| ManifestError::syntax("XML", &e.to_string()))?;
            let key = attribute.key.local_name().as_ref().to_owned();
            Ok((key, value.into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> Result<Vec<(String, String)>, ManifestError> {
        let mut out = Vec::new();
        walk(text, |e| {
            out.push((e.path.join("/"), e.text.to_owned()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn elements_are_reported_on_close_with_their_own_text() {
        let out = collect(
            "<?xml version=\"1.0\"?><!-- c --><a xmlns:m=\"urn:x\"><m:b>x &amp; y&#33;</m:b>\
             <c><![CDATA[<raw>]]></c><d/>tail</a>",
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                ("a/b".into(), "x & y!".into()),
                ("a/c".into(), "<raw>".into()),
                ("a/d".into(), String::new()),
                ("a".into(), "tail".into()),
            ]
        );
    }

    #[test]
    fn custom_entities_are_never_expanded() {
        let text = "<!DOCTYPE a [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]><a>&lol2;</a>";
        assert_eq!(collect(text).unwrap(), vec![("a".into(), String::new())]);
    }

    #[test]
    fn hostile_documents_are_errors() {
        let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
        assert_eq!(
            collect(&deep).unwrap_err(),
            ManifestError::TooDeep {
                format: "XML",
                limit: MAX_XML_DEPTH
            }
        );
        for text in [
            "",
            "just text",
            "<a><b></a>",
            "<a>",
            "<a></a><b/>",
            "<a x='1' x='2'/>",
            "</a>",
        ] {
            assert!(collect(text).is_err(), "{text:?}");
        }
    }
}
