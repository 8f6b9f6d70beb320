//! The XML of EC2's answers: elements in EC2's namespace, written in order
//! with their text escaped. A few dozen elements, no attributes but the
//! namespace: a writer is all it takes.

/// EC2's XML namespace for API version 2016-11-15.
pub const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// Escapes XML text (also usable in attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
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
}
