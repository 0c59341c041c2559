//! Post-hoc alignment: one orthogonal map per language, applied after per-language
//! centring, that turns a language's vectors towards English (fitted by
//! `scripts/fit_alignment.py` on parallel training sentences). An orthogonal map keeps
//! every dot product within one language, so it cannot change a ranking inside a language;
//! it only moves languages relative to each other.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// Maps by language code; a language without one keeps its vectors as they are.
#[derive(Debug, Clone, Default)]
pub struct Alignment {
    dim: usize,
    maps: BTreeMap<String, Vec<f32>>,
}

impl Alignment {
    /// Reads `DIR/<lang>.f32` files: `dim × dim` little-endian f32, row-major, v ↦ v·W.
    pub fn load_dir(dir: &Path, dim: usize) -> Result<Alignment> {
        let bad = |path: &Path, reason: String| Error::Data {
            path: path.to_path_buf(),
            reason,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot read the alignment folder: {e}")))?;
        let mut maps = BTreeMap::new();
        for entry in entries {
            let path = entry.map_err(|e| bad(dir, e.to_string()))?.path();
            let (Some(lang), Some("f32")) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|e| e.to_str()),
            ) else {
                continue;
            };
            let bytes = std::fs::read(&path).map_err(|e| bad(&path, e.to_string()))?;
            if bytes.len() != dim * dim * 4 {
                return Err(bad(
                    &path,
                    format!("{} bytes, not a {dim} × {dim} f32 map", bytes.len()),
                ));
            }
            let map: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if map.iter().any(|x| !x.is_finite()) {
                return Err(bad(&path, "the map holds a value that is not a number".into()));
            }
            maps.insert(lang.to_string(), map);
        }
        Ok(Alignment { dim, maps })
    }

    /// Languages that have a map.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.maps.keys().map(String::as_str)
    }

    /// `vector ← vector · W[lang]` where `lang` has a map, at unit length again: a rotation
    /// keeps the length, a projection (`scripts/fit_subspace.py`) does not, and scores are
    /// cosines.
    pub fn apply(&self, lang: &str, vector: &mut [f32]) {
        let Some(map) = self.maps.get(lang) else {
            return;
        };
        let mut out = vec![0f32; self.dim];
        for (x, row) in vector.iter().zip(map.chunks_exact(self.dim)) {
            out.iter_mut().zip(row).for_each(|(o, w)| *o += x * w);
        }
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        vector.iter_mut().zip(&out).for_each(|(v, o)| *v = o / norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_keeps_dot_products_and_moves_only_its_language() {
        let dir = tempfile::tempdir().unwrap();
        // A quarter turn in the plane of the first two axes, for "de".
        let map: [f32; 9] = [0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let bytes: Vec<u8> = map.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(dir.path().join("de.f32"), bytes).unwrap();
        let alignment = Alignment::load_dir(dir.path(), 3).unwrap();
        let (mut a, mut b) = (vec![0.6, 0.8, 0.0], vec![1.0, 0.0, 0.0]);
        let before: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        alignment.apply("de", &mut a);
        alignment.apply("de", &mut b);
        let after: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((before - after).abs() < 1e-6);
        assert_eq!(b, vec![0.0, 1.0, 0.0]);
        let mut en = vec![1.0, 0.0, 0.0];
        alignment.apply("en", &mut en);
        assert_eq!(en, vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_map_of_the_wrong_size_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fr.f32"), [0u8; 12]).unwrap();
        let err = Alignment::load_dir(dir.path(), 3).unwrap_err().to_string();
        assert!(err.contains("fr.f32"), "{err}");
    }
}
