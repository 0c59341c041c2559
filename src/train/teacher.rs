//! The teacher anchor: what the base model knew stays a target while training pulls
//! translations together.

use std::collections::HashMap;

use candle_core::Tensor;

use crate::encoder::{Encoder, TextKind};
use crate::error::Result;

/// The teacher anchor (Reimers & Gurevych 2020, "Making monolingual sentence embeddings
/// multilingual"): the student's embedding of each text, and of each of its translations,
/// is pulled towards the frozen base model's embedding of the English version (of the
/// text itself when its group has no English), by λ · the mean squared distance of the
/// unit vectors. What the base model knew stays the target while InfoNCE pulls
/// translations together. The teacher's embeddings are computed once per text (int8) and
/// kept for the run.
pub struct TeacherAnchor<'a> {
    teacher: &'a Encoder,
    /// The teacher's vectors of queries ([0]) and passages ([1]) by text.
    cache: [HashMap<String, Vec<f32>>; 2],
}

impl<'a> TeacherAnchor<'a> {
    /// The anchor to `teacher` (the base model, any precision).
    pub fn new(teacher: &'a Encoder) -> TeacherAnchor<'a> {
        TeacherAnchor {
            teacher,
            cache: [HashMap::new(), HashMap::new()],
        }
    }

    /// The teacher's unit vectors of `texts` as a `[texts, dim]` tensor.
    pub(super) fn targets(&mut self, texts: &[&str], kind: TextKind) -> Result<Tensor> {
        let cache = &mut self.cache[usize::from(kind != TextKind::Query)];
        let missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !cache.contains_key(*t))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            for (text, vector) in missing.iter().zip(self.teacher.embed(&missing, kind)?) {
                cache.insert(text.to_string(), vector);
            }
        }
        let dim = self.teacher.dim();
        let flat: Vec<f32> = texts.iter().flat_map(|t| cache[*t].iter().copied()).collect();
        Ok(Tensor::from_vec(flat, (texts.len(), dim), &candle_core::Device::Cpu)?)
    }
}

/// λ times the mean squared distance of the student's query and passage vectors to the
/// teacher's targets (each a `[m, dim]` tensor of unit vectors), averaged over both.
pub(super) fn teacher_distance(
    q: &Tensor,
    tq: &Tensor,
    p: &Tensor,
    tp: &Tensor,
    weight: f64,
) -> candle_core::Result<Tensor> {
    let distance = |s: &Tensor, t: &Tensor| (s - t.to_device(s.device())?)?.sqr()?.sum(1)?.mean_all();
    (distance(q, tq)? + distance(p, tp)?)? * (weight / 2.0)
}
