//! The XML of EC2's answers: elements in EC2's namespace, written in order
//! with their text escaped. A few dozen elements, no attributes but the
//! namespace: a writer is all it takes.

/// EC2's XML namespace for API version 2016-11-15.
pub const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// Escapes XML text (also usable in attribute values). Tab, newline and
/// carriage return are written as references, which a parser keeps as
/// they are (raw, it would turn `\r\n` into `\n`). A character XML 1.0
/// cannot carry at all, even as a reference (the other controls, U+FFFE,
/// U+FFFF), becomes U+FFFD: an answer holding one would not be XML, and
/// no client could read it (a command set natively may hold one, and an
/// error message quotes what the client sent).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if c < ' ' || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                out.push(char::REPLACEMENT_CHARACTER);
            }
            c => out.push(c),
        }
    }
    out
}

/// Writes one answer document.
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// Opens `<{action}Response xmlns=…>` with its `requestId`.
    pub fn response(action: &str, request_id: &str) -> Self {
        let mut w = Self {
            out: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NAMESPACE}\">"
            ),
        };
        w.leaf("requestId", request_id);
        w
    }

    /// `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.out.push_str(&escape(text));
        self.close(name)
    }

    /// `<name>` around what `body` writes.
    pub fn element(&mut self, name: &str, body: impl FnOnce(&mut Self)) -> &mut Self {
        self.open(name);
        body(self);
        self.close(name)
    }

    /// Closes the response element opened by [`response`](Self::response).
    pub fn finish(mut self, action: &str) -> String {
        self.close(&format!("{action}Response"));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_namespaced_and_escaped() {
        let mut w = XmlWriter::response("RebootInstances", "r-1");
        w.element("set", |w| {
            w.leaf("key", "a<b&'c'\"");
        });
        w.leaf("return", "true");
        assert_eq!(
            w.finish("RebootInstances"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RebootInstancesResponse \
             xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r-1</requestId>\
             <set><key>a&lt;b&amp;&apos;c&apos;&quot;</key></set><return>true</return>\
             </RebootInstancesResponse>"
        );
    }

    /// Every answer is XML 1.0, whatever the text: what it cannot carry
    /// is replaced, the blanks a parser would change are references.
    #[test]
    fn text_xml_cannot_carry_is_replaced() {
        assert_eq!(
            escape("a\u{1}b\u{1f}\u{FFFE}\u{FFFF}c"),
            "a\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}c"
        );
        assert_eq!(escape("l1\r\nl2\tx"), "l1&#xD;&#xA;l2&#x9;x");
        assert_eq!(
            escape("é\u{85}\u{FFFD}\u{10FFFF}"),
            "é\u{85}\u{FFFD}\u{10FFFF}"
        );
    }
}
