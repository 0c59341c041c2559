//! The one description of the encoder's weights: their names in the model file
//! (`index-format/model.md`), their shapes, and their Hugging Face checkpoint names. The
//! f32 model ([`super::bert`]), the int8 model ([`super::quantized`]), the model file's
//! check and the importers all read it from here.

use super::ModelConfig;

/// Word embeddings `[vocab, hidden]`.
pub const WORD: &str = "emb.word";
/// Position embeddings `[positions, hidden]`.
pub const POSITION: &str = "emb.pos";
/// Token-type embeddings `[types, hidden]`.
pub const TOKEN_TYPE: &str = "emb.type";
/// The embeddings' layer norm (`.w`, `.b`).
pub const EMBEDDING_NORM: &str = "emb.ln";

/// The weights of one transformer layer, in the order of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Query projection.
    Query,
    /// Key projection.
    Key,
    /// Value projection.
    Value,
    /// Attention output projection.
    AttentionOut,
    /// Layer norm after attention.
    AttentionNorm,
    /// Feed-forward expansion.
    FfnIn,
    /// Feed-forward contraction.
    FfnOut,
    /// Layer norm after the feed-forward layer.
    OutputNorm,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 8] = [
        Part::Query,
        Part::Key,
        Part::Value,
        Part::AttentionOut,
        Part::AttentionNorm,
        Part::FfnIn,
        Part::FfnOut,
        Part::OutputNorm,
    ];

    /// The part's short name in the model file (`l3.fi.w`).
    pub fn code(self) -> &'static str {
        match self {
            Part::Query => "q",
            Part::Key => "k",
            Part::Value => "v",
            Part::AttentionOut => "ao",
            Part::AttentionNorm => "aln",
            Part::FfnIn => "fi",
            Part::FfnOut => "fo",
            Part::OutputNorm => "oln",
        }
    }

    /// Layer norms (a scale and a shift) rather than linear layers (a matrix and a bias).
    pub fn is_norm(self) -> bool {
        matches!(self, Part::AttentionNorm | Part::OutputNorm)
    }

    /// `(rows, cols)` of the part's `w` (rows = outputs); its `b` is `rows` long.
    pub fn shape(self, c: &ModelConfig) -> (usize, usize) {
        let (h, f) = (c.hidden_size, c.intermediate_size);
        match self {
            Part::Query | Part::Key | Part::Value | Part::AttentionOut => (h, h),
            Part::FfnIn => (f, h),
            Part::FfnOut => (h, f),
            Part::AttentionNorm | Part::OutputNorm => (1, h),
        }
    }

    /// The Hugging Face BERT / XLM-R module the part comes from.
    fn hf_module(self) -> &'static str {
        match self {
            Part::Query => "attention.self.query",
            Part::Key => "attention.self.key",
            Part::Value => "attention.self.value",
            Part::AttentionOut => "attention.output.dense",
            Part::AttentionNorm => "attention.output.LayerNorm",
            Part::FfnIn => "intermediate.dense",
            Part::FfnOut => "output.dense",
            Part::OutputNorm => "output.LayerNorm",
        }
    }
}

/// `l{layer}.{part}` with `.{suffix}` (`w` or `b`) when one is given.
pub fn name(layer: usize, part: Part, suffix: &str) -> String {
    if suffix.is_empty() {
        format!("l{layer}.{}", part.code())
    } else {
        format!("l{layer}.{}.{suffix}", part.code())
    }
}

/// Every weight name of an encoder with `layers` layers.
/// Checks a layer count read from a model file against the tensors the file holds
/// (before anything is allocated per layer): each layer has `2 · Part::ALL.len()` of them.
pub fn check_layers(layers: usize, tensors_in_file: usize) -> Result<(), String> {
    let needed = layers.checked_mul(2 * Part::ALL.len()).and_then(|n| n.checked_add(5));
    match needed {
        Some(n) if n <= tensors_in_file => Ok(()),
        _ => Err(format!(
            "the configuration says {layers} layers, but the file holds only {tensors_in_file} tensors"
        )),
    }
}

/// Every weight name of a model of `layers` layers.
pub fn all_names(layers: usize) -> Vec<String> {
    let mut names: Vec<String> = [WORD, POSITION, TOKEN_TYPE]
        .into_iter()
        .map(String::from)
        .chain(["w", "b"].map(|s| format!("{EMBEDDING_NORM}.{s}")))
        .collect();
    for l in 0..layers {
        for part in Part::ALL {
            names.push(name(l, part, "w"));
            names.push(name(l, part, "b"));
        }
    }
    names
}

/// A layer weight's name taken apart: (layer, part, `w` or `b`).
fn parse(name: &str) -> Option<(usize, Part, &str)> {
    let (layer, rest) = name.strip_prefix('l')?.split_once('.')?;
    let (code, suffix) = rest.rsplit_once('.')?;
    let part = Part::ALL.into_iter().find(|p| p.code() == code)?;
    matches!(suffix, "w" | "b").then_some((layer.parse().ok()?, part, suffix))
}

/// (rows, columns) of a weight of `c`; vectors are one row. `None` for a name the encoder
/// does not have.
pub fn shape(name: &str, c: &ModelConfig) -> Option<(usize, usize)> {
    let h = c.hidden_size;
    Some(match name {
        WORD => (c.vocab_size, h),
        POSITION => (c.max_positions, h),
        TOKEN_TYPE => (c.type_vocab_size, h),
        _ if name
            .strip_prefix(EMBEDDING_NORM)
            .is_some_and(|s| s == ".w" || s == ".b") =>
        {
            (1, h)
        }
        _ => {
            let (layer, part, suffix) = parse(name)?;
            if layer >= c.num_layers {
                return None;
            }
            let (rows, cols) = part.shape(c);
            if suffix == "w" && !part.is_norm() {
                (rows, cols)
            } else {
                (1, if part.is_norm() { cols } else { rows })
            }
        }
    })
}

/// The checkpoint name of one of our weights (without the `bert.` / `roberta.` prefix).
pub fn hf_name(name: &str) -> Option<String> {
    let suffix = |s: &str| if s == "w" { "weight" } else { "bias" };
    Some(match name {
        WORD => "embeddings.word_embeddings.weight".into(),
        POSITION => "embeddings.position_embeddings.weight".into(),
        TOKEN_TYPE => "embeddings.token_type_embeddings.weight".into(),
        _ if name.starts_with(EMBEDDING_NORM) => {
            format!("embeddings.LayerNorm.{}", suffix(name.rsplit('.').next()?))
        }
        _ => {
            let (layer, part, s) = parse(name)?;
            format!("encoder.layer.{layer}.{}.{}", part.hf_module(), suffix(s))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_shapes_and_checkpoint_names_agree() {
        let c = ModelConfig {
            architecture: "bert".into(),
            hidden_size: 8,
            num_layers: 2,
            num_heads: 2,
            intermediate_size: 32,
            vocab_size: 100,
            max_positions: 16,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            query_prefix: String::new(),
            passage_prefix: String::new(),
            pooling: Default::default(),
        };
        let names = all_names(2);
        assert_eq!(names.len(), 5 + 2 * 16);
        for n in &names {
            assert!(shape(n, &c).is_some(), "{n}");
            assert!(hf_name(n).is_some(), "{n}");
        }
        assert_eq!(shape("l1.fi.w", &c), Some((32, 8)));
        assert_eq!(shape("l1.fi.b", &c), Some((1, 32)));
        assert_eq!(shape("l1.fo.w", &c), Some((8, 32)));
        assert_eq!(shape("l0.oln.w", &c), Some((1, 8)));
        assert_eq!(shape("l2.q.w", &c), None);
        assert_eq!(shape("l0.zz.w", &c), None);
        assert_eq!(
            hf_name("l1.aln.b").unwrap(),
            "encoder.layer.1.attention.output.LayerNorm.bias"
        );
        assert_eq!(hf_name("emb.ln.w").unwrap(), "embeddings.LayerNorm.weight");
    }
}
