//! Checkpoints: the trained weights, AdamW's moments and the run's state, written so an
//! interrupted save leaves the previous checkpoint whole, and read back to resume exactly.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use super::optimizer::AdamW;
use super::sampler;
use crate::error::{Error, Result};

/// What a checkpoint's `state.json` holds besides the tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct State {
    pub step: usize,
    pub adam_steps: usize,
    pub sampler: sampler::SamplerState,
    pub best_loss: Option<f64>,
    pub bad_validations: usize,
}

pub(super) fn save_weights(path: &Path, vars: &[(String, Var)]) -> Result<()> {
    let tensors: HashMap<String, Tensor> = vars.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
    save_tensors(path, &tensors)
}

pub(super) fn load_weights(path: &Path, vars: &[(String, Var)]) -> Result<()> {
    let tensors = load_tensors(path)?;
    for (name, var) in vars {
        let t = tensors.get(name).ok_or_else(|| Error::Data {
            path: path.to_path_buf(),
            reason: format!("no tensor {name}: a checkpoint of another model?"),
        })?;
        var.set(t)?;
    }
    Ok(())
}

fn save_tensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<()> {
    // Written aside, then renamed: an interrupted save leaves the previous file whole.
    let tmp = path.with_extension("tmp");
    candle_core::safetensors::save(tensors, &tmp)?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn load_tensors(path: &Path) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load(path, &candle_core::Device::Cpu).map_err(|e| Error::Data {
        path: path.to_path_buf(),
        reason: format!("unreadable checkpoint: {e}"),
    })
}

/// Checkpoint folder: `weights.safetensors` (weights and AdamW moments) and `state.json`.
pub(super) fn save_checkpoint(dir: &Path, optimizer: &AdamW, state: &State) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tensors = HashMap::new();
    for (i, (name, var)) in optimizer.vars.iter().enumerate() {
        tensors.insert(name.clone(), var.as_tensor().clone());
        tensors.insert(format!("adam.m.{name}"), optimizer.m[i].clone());
        tensors.insert(format!("adam.v.{name}"), optimizer.v[i].clone());
    }
    save_tensors(&dir.join("weights.safetensors"), &tensors)?;
    let json = serde_json::to_string(state).expect("state serialises");
    let path = dir.join("state.json");
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

pub(super) fn load_checkpoint(dir: &Path, optimizer: &mut AdamW) -> Result<State> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let state: State = serde_json::from_str(&text).map_err(|e| Error::Data {
        path: path.clone(),
        reason: format!("unreadable training state: {e}"),
    })?;
    let weights = dir.join("weights.safetensors");
    let tensors = load_tensors(&weights)?;
    for (i, (name, var)) in optimizer.vars.iter().enumerate() {
        let get = |key: String| {
            tensors.get(&key).cloned().ok_or_else(|| Error::Data {
                path: weights.clone(),
                reason: format!("no tensor {key}"),
            })
        };
        var.set(&get(name.clone())?)?;
        optimizer.m[i] = get(format!("adam.m.{name}"))?;
        optimizer.v[i] = get(format!("adam.v.{name}"))?;
    }
    optimizer.t = state.adam_steps;
    Ok(state)
}
