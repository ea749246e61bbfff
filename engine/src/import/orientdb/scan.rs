//! A streaming reader of one big JSON object (OrientDB's export): it walks the top-level
//! sections and the `records` array and hands out one value at a time as raw bytes (at most
//! [`RECORD_BYTES_MAX`](super::RECORD_BYTES_MAX)), for `serde_json` to parse. It knows the
//! byte and line it is at, so every error says where; it decompresses gzip input on the fly
//! and reads on to the end of the stream, so a damaged or cut gzip trailer is caught too.

use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::GzDecoder;

use super::{OrientError, Position, GZIP_MAGIC, RECORD_BYTES_MAX};

const BUFFER_BYTES: usize = 64 << 10;

/// Counts the compressed bytes read through it.
struct Counting<R> {
    /// The compressed input.
    inner: R,
    /// Bytes read so far.
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The reader. See the module docs.
pub(super) struct Scanner {
    /// The (decompressed) JSON.
    input: Box<dyn Read>,
    /// Compressed bytes read, when the input is gzip.
    compressed: Option<Arc<AtomicU64>>,
    /// The input's name, for messages.
    name: String,
    /// Bytes read and not consumed are `buf[pos..len]`.
    buf: Vec<u8>,
    /// Next byte to consume.
    pos: usize,
    /// End of the valid bytes.
    len: usize,
    /// Bytes consumed before `buf[0]`.
    base: u64,
    /// Current line, from 1.
    line: u64,
}

impl Scanner {
    /// Opens `input`, decompressing it if it starts with gzip's magic.
    pub(super) fn new(input: Box<dyn Read>, name: &str) -> Result<Scanner, OrientError> {
        let mut input = BufReader::new(input);
        let head = io::BufRead::fill_buf(&mut input).map_err(|source| OrientError::Io { what: name.into(), source })?;
        let (input, compressed): (Box<dyn Read>, _) = if head.starts_with(&GZIP_MAGIC) {
            let read = Arc::new(AtomicU64::new(0));
            (Box::new(GzDecoder::new(Counting { inner: input, read: read.clone() })), Some(read))
        } else {
            (Box::new(input), None)
        };
        Ok(Scanner {
            input,
            compressed,
            name: name.to_string(),
            buf: vec![0; BUFFER_BYTES],
            pos: 0,
            len: 0,
            base: 0,
            line: 1,
        })
    }

    /// Where the next byte is.
    pub(super) fn position(&self) -> Position {
        Position { input: self.name.clone(), line: self.line, byte: self.base + self.pos as u64 }
    }

    /// A syntax error here.
    pub(super) fn syntax(&self, message: impl Into<String>) -> OrientError {
        OrientError::Syntax { at: self.position(), message: message.into() }
    }

    fn fill(&mut self) -> Result<bool, OrientError> {
        if self.pos < self.len {
            return Ok(true);
        }
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match self.input.read(&mut self.buf) {
                Ok(n) => {
                    self.len = n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(match &self.compressed {
                        Some(read) => OrientError::Gzip {
                            at: self.position(),
                            compressed_bytes: read.load(Ordering::Relaxed),
                            source,
                        },
                        None => OrientError::Io { what: self.name.clone(), source },
                    })
                }
            }
        }
    }

    /// The next byte, not consumed; `None` at the end of the input.
    pub(super) fn peek(&mut self) -> Result<Option<u8>, OrientError> {
        Ok(if self.fill()? { Some(self.buf[self.pos]) } else { None })
    }

    fn bump(&mut self) -> Result<Option<u8>, OrientError> {
        let b = self.peek()?;
        if let Some(c) = b {
            self.pos += 1;
            if c == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    /// Skips whitespace; the next byte, not consumed.
    pub(super) fn skip_ws(&mut self) -> Result<Option<u8>, OrientError> {
        while let Some(c) = self.peek()? {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Ok(Some(c));
            }
            self.bump()?;
        }
        Ok(None)
    }

    /// Consumes `c` (after whitespace), or fails saying what was expected where.
    pub(super) fn expect(&mut self, c: u8, inside: &str) -> Result<(), OrientError> {
        match self.skip_ws()? {
            Some(found) if found == c => {
                self.bump()?;
                Ok(())
            }
            Some(found) => Err(self.syntax(format!("expected '{}' {inside}, found '{}'", c as char, found as char))),
            None => Err(self.syntax(format!("the input ends {inside} (expected '{}')", c as char))),
        }
    }

    /// After a member of an object or array: consumes `,` and returns true, or consumes
    /// `close` and returns false.
    pub(super) fn next_member(&mut self, close: u8, inside: &str) -> Result<bool, OrientError> {
        match self.skip_ws()? {
            Some(b',') => {
                self.bump()?;
                Ok(true)
            }
            Some(c) if c == close => {
                self.bump()?;
                Ok(false)
            }
            Some(c) => Err(self.syntax(format!("expected ',' or '{}' {inside}, found '{}'", close as char, c as char))),
            None => Err(self.syntax(format!("the input ends {inside}"))),
        }
    }

    /// Reads an object key and its `:`.
    pub(super) fn key(&mut self, inside: &str) -> Result<String, OrientError> {
        if self.skip_ws()? != Some(b'"') {
            return Err(self.syntax(format!("expected a quoted name {inside}")));
        }
        let raw = self.capture(inside)?;
        let key: String = serde_json::from_slice(&raw).map_err(|e| self.syntax(format!("bad name {inside}: {e}")))?;
        self.expect(b':', &format!("after \"{key}\" {inside}"))?;
        Ok(key)
    }

    /// The raw bytes of the next JSON value (after whitespace), at most `RECORD_BYTES_MAX`.
    pub(super) fn capture(&mut self, inside: &str) -> Result<Vec<u8>, OrientError> {
        let mut out = Vec::new();
        let first =
            self.skip_ws()?.ok_or_else(|| self.syntax(format!("the input ends {inside} (expected a value)")))?;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        while let Some(c) = self.peek()? {
            if scalar && matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                return Ok(out);
            }
            self.bump()?;
            out.push(c);
            if out.len() > RECORD_BYTES_MAX {
                return Err(self.syntax(format!("a value {inside} is larger than {RECORD_BYTES_MAX} bytes")));
            }
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                if !in_string && depth == 0 {
                    return Ok(out);
                }
                continue;
            }
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| self.syntax(format!("unbalanced '{}' {inside}", c as char)))?;
                    if depth == 0 {
                        return Ok(out);
                    }
                }
                _ => {}
            }
        }
        if scalar && !out.is_empty() {
            return Ok(out);
        }
        Err(self.syntax(format!("the input ends inside a value {inside}")))
    }

    /// Parses the next value as `T`.
    pub(super) fn value<T: serde::de::DeserializeOwned>(&mut self, inside: &str) -> Result<T, OrientError> {
        self.skip_ws()?;
        let at = self.position();
        let raw = self.capture(inside)?;
        serde_json::from_slice(&raw)
            .map_err(|e| OrientError::Syntax { at, message: format!("malformed JSON {inside}: {e}") })
    }

    /// Reads to the end, requiring nothing but whitespace (which also makes a gzip decoder
    /// check its trailer).
    pub(super) fn finish(&mut self) -> Result<(), OrientError> {
        match self.skip_ws()? {
            None => Ok(()),
            Some(c) => Err(self.syntax(format!("unexpected '{}' after the end of the export object", c as char))),
        }
    }
}
